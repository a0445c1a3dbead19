// Exports images with their recipes: each image, a JSON sidecar with its full record, and one CSV of all
// recipes, into a folder or a ZIP file, reporting progress as it goes. The export is written under a
// temporary name and renamed when complete, so a killed export never leaves a file or folder that looks
// finished; an image whose file is gone is skipped and reported, not a reason to stop.

import { samplerSummary } from '../../shared/samplers.js';
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
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

export interface ExportResult {
  readonly count: number;
  readonly target: string;
  /** Images of the selection whose files were missing (their paths under the images folder). */
  readonly skipped: readonly string[];
}

/** The suffix of an export still being written; a studio that starts removes any it finds (see recovery). */
export const PARTIAL_SUFFIX = '.partial';

const CSV_COLUMNS = ['file', 'created', 'prompt', 'negative_prompt', 'seed', 'steps', 'guidance', 'width', 'height', 'model', 'model_hash', 'loras', 'sampler', 'device'] as const;

/**
 * One CSV cell. Text that starts like a formula (= + - @, or a tab or carriage return that some
 * spreadsheets skip before one) gets a leading apostrophe, so opening recipes.csv never runs a prompt
 * as a formula (OWASP's CSV injection advice); numbers are written as they are.
 */
export function csvCell(value: string | number): string {
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvRow(file: string, g: GenerationRecord): string {
  const r = g.recipe;
  // The largest weight file: the denoiser's, whatever the family calls it.
  const weights = r.modelHashes.reduce<(typeof r.modelHashes)[number] | undefined>((a, h) => (!a || h.bytes > a.bytes ? h : a), undefined);
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
    weights?.sha256 ?? '',
    r.loras.map((l) => `${l.name}:${l.strength}`).join(' '),
    samplerSummary(r.sampler),
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

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

export async function exportImages(o: ExportOptions): Promise<ExportResult> {
  const partial = `${o.target}${PARTIAL_SUFFIX}`;
  await rm(partial, { recursive: true, force: true });
  const zip = o.kind === 'zip' ? new ZipWriter(partial) : undefined;
  if (!zip) await mkdir(partial, { recursive: true });
  const csv = [CSV_COLUMNS.join(',')];
  const skipped: string[] = [];
  let done = 0;
  try {
    for await (const g of o.records) {
      if (o.signal?.aborted) throw new Error('the export was cancelled');
      const name = exportName(g);
      const source = join(o.imagesDir, g.imageFile);
      const created = new Date(g.createdAt);
      try {
        if (zip) await zip.addFile(name, source, created);
        else await copyFile(source, join(partial, name));
      } catch (e) {
        // Nothing of this image was written (the file is read before its entry starts): skip it.
        if (!isMissing(e)) throw e;
        skipped.push(g.imageFile);
        o.onProgress?.(done, o.total);
        continue;
      }
      const sidecar = Buffer.from(`${JSON.stringify({ id: g.id, createdAt: g.createdAt, recipe: g.recipe, durations: g.durations, format: g.format }, null, 2)}\n`);
      const jsonName = name.replace(/\.[^.]+$/, '.json');
      if (zip) await zip.addBuffer(jsonName, sidecar, created);
      else await writeFile(join(partial, jsonName), sidecar);
      csv.push(csvRow(name, g));
      done++; // not inside the optional call below: without a listener its arguments are never evaluated
      o.onProgress?.(done, o.total);
    }
    const table = Buffer.from(`\ufeff${csv.join('\r\n')}\r\n`); // BOM: spreadsheets then read UTF-8 (Chinese prompts) right
    if (zip) {
      await zip.addBuffer('recipes.csv', table);
      await zip.close();
    } else await writeFile(join(partial, 'recipes.csv'), table);
    // Only a complete export gets its name; a target that appeared meanwhile is not overwritten.
    if (await stat(o.target).catch(() => undefined)) throw Object.assign(new Error(`${o.target} already exists`), { code: 'EEXIST' });
    await rename(partial, o.target);
  } catch (e) {
    if (zip) await zip.abort();
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
  return { count: done, target: o.target, skipped };
}
