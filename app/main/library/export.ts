// Exports images with their recipes: each image, a JSON sidecar with its full record, and one CSV of all
// recipes, into a folder or a ZIP file, reporting progress as it goes.

import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GenerationRecord } from '../../shared/generation.js';
import { ZipWriter } from './zip-writer.js';

export interface ExportOptions {
  readonly records: AsyncIterable<GenerationRecord> | Iterable<GenerationRecord>;
  readonly total: number;
  readonly imagesDir: string;
  readonly kind: 'folder' | 'zip';
  /** The folder to create, or the .zip file to write. */
  readonly target: string;
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

const CSV_COLUMNS = ['file', 'created', 'prompt', 'negative_prompt', 'seed', 'steps', 'guidance', 'width', 'height', 'model', 'model_hash', 'loras', 'sampler', 'device'] as const;

function csvCell(value: string | number): string {
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvRow(file: string, g: GenerationRecord): string {
  const r = g.recipe;
  const transformer = r.modelHashes.find((h) => h.file.includes('transformer')) ?? r.modelHashes[0];
  return [
    file,
    new Date(g.createdAt).toISOString(),
    r.prompt,
    r.negativePrompt,
    r.seed,
    r.steps,
    r.guidance,
    r.width,
    r.height,
    r.modelName,
    transformer?.sha256 ?? '',
    r.loras.map((l) => `${l.name}:${l.strength}`).join(' '),
    `${r.sampler.name} shift ${r.sampler.baseShift.toFixed(4)}-${r.sampler.maxShift.toFixed(4)}`,
    r.device,
  ]
    .map(csvCell)
    .join(',');
}

/** File names in the export: time and seed, readable and unique per image. */
function exportName(g: GenerationRecord): string {
  const stamp = new Date(g.createdAt).toISOString().replace(/[:.]/g, '-');
  return `${stamp}_seed${g.recipe.seed}_${g.id.slice(0, 8)}${extname(g.imageFile)}`;
}

export async function exportImages(o: ExportOptions): Promise<{ count: number; target: string }> {
  const zip = o.kind === 'zip' ? new ZipWriter(o.target) : undefined;
  if (!zip) await mkdir(o.target, { recursive: true });
  const csv = [CSV_COLUMNS.join(',')];
  let done = 0;
  try {
    for await (const g of o.records) {
      if (o.signal?.aborted) throw new Error('the export was cancelled');
      const name = exportName(g);
      const sidecar = Buffer.from(`${JSON.stringify({ id: g.id, createdAt: g.createdAt, recipe: g.recipe, durations: g.durations, format: g.format }, null, 2)}\n`);
      const jsonName = name.replace(/\.[^.]+$/, '.json');
      if (zip) {
        await zip.addFile(name, join(o.imagesDir, g.imageFile));
        await zip.addBuffer(jsonName, sidecar);
      } else {
        await copyFile(join(o.imagesDir, g.imageFile), join(o.target, name));
        await writeFile(join(o.target, jsonName), sidecar);
      }
      csv.push(csvRow(name, g));
      o.onProgress?.(++done, o.total);
    }
    const table = Buffer.from(`\ufeff${csv.join('\r\n')}\r\n`); // BOM: spreadsheets then read UTF-8 (Chinese prompts) right
    if (zip) {
      await zip.addBuffer('recipes.csv', table);
      await zip.close();
    } else await writeFile(join(o.target, 'recipes.csv'), table);
  } catch (e) {
    if (zip) await zip.close().catch(() => undefined);
    throw e;
  }
  return { count: done, target: o.target };
}
