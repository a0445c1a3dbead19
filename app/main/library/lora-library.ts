// The LoRA library: one folder per LoRA (the file, meta.json, an optional preview), imported from a
// dropped file or folder after inspection, de-duplicated by content hash, never written outside itself.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice, type Notice } from '../../shared/notices.js';
import { inspectLoraFile, type LoraArchitecture, type LoraReport } from './lora-inspect.js';

export interface LibraryLora {
  readonly id: string;
  readonly name: string;
  readonly sha256: string;
  readonly folder: string;
  readonly file: string;
  readonly preview?: string;
  readonly report: Omit<LoraReport, 'file' | 'ok'>;
  readonly importedAt: number;
}

const PREVIEW = /^(preview|cover|thumbnail)?.*\.(png|jpe?g|webp)$/i;

/** A name that is safe as one folder name on every OS: no separators, no dots in front, no reserved names. */
export function safeName(raw: string): string {
  const base = basename(raw.replace(/\\/g, '/')).replace(/\.[^.]*$/, '');
  let s = base.normalize('NFKC').replace(/[^\p{L}\p{N}._ ()[\]+,&'-]+/gu, '-').replace(/^[.\s-]+/, '').replace(/[.\s]+$/, '').slice(0, 80);
  if (!s || /^(con|prn|aux|nul|com\d|lpt\d)$/i.test(s)) s = `lora-${s || 'unnamed'}`;
  return s;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

const FAMILY_NAMES: Record<LoraArchitecture, string> = { 'qwen-image': 'Qwen-Image', sdxl: 'SDXL', sd1: 'Stable Diffusion 1.x', flux: 'FLUX', unknown: '?' };

function familyRefusal(report: LoraReport, name: string): Notice {
  const runs = 'Qwen-Image';
  return report.architecture === 'unknown' ? notice('lora.unknownFamily', { name, runs }) : notice('lora.otherFamily', { name, family: FAMILY_NAMES[report.architecture], runs });
}

export class LoraLibrary {
  constructor(readonly dir: string) {}

  private inside(path: string): string {
    const full = resolve(this.dir, path);
    if (!full.startsWith(resolve(this.dir) + sep)) throw new StudioError('invalid-request', notice('error.outsideLibrary', { path }), path);
    return full;
  }

  async list(): Promise<LibraryLora[]> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    const out: LibraryLora[] = [];
    for (const e of entries) {
      const meta = await readFile(join(this.dir, e, 'meta.json'), 'utf8').catch(() => undefined);
      if (meta) out.push(JSON.parse(meta) as LibraryLora);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Imports a .safetensors file, or a folder holding one (with an optional preview image). Refusals
   * (pickles, damaged files, non-LoRA files) throw with the reason; the library is left unchanged.
   */
  /** `displayName` names the folder when the source is an upload with a temporary name. */
  async import(source: string, displayName?: string): Promise<{ lora: LibraryLora; duplicate: boolean }> {
    const info = await stat(source).catch(() => undefined);
    if (!info) throw new StudioError('not-found', notice('error.fileMissing', { file: source }), source);
    let file = source;
    let preview: string | undefined;
    if (info.isDirectory()) {
      const names = await readdir(source);
      const weights = names.filter((n) => /\.(safetensors|bin|ckpt|pt|pth)$/i.test(n));
      if (weights.length !== 1) throw new StudioError('invalid-request', notice('error.loraFolderCount', { name: basename(source), count: weights.length }), source);
      file = join(source, weights[0]!);
      const p = names.find((n) => PREVIEW.test(n));
      if (p) preview = join(source, p);
    }
    const shownName = info.isDirectory() ? basename(file) : basename(displayName ?? file);
    const report = await inspectLoraFile(file, shownName);
    if (!report.ok) throw new StudioError('invalid-request', report.reason, report.detail ?? file);
    // A LoRA for a family the studio cannot run would only fail at generation: refuse it here, with the reason.
    if (!report.runnable) throw new StudioError('invalid-request', familyRefusal(report, shownName), file);
    const sha256 = await sha256File(file);
    const existing = (await this.list()).find((l) => l.sha256 === sha256);
    if (existing) return { lora: existing, duplicate: true };

    await mkdir(this.dir, { recursive: true });
    const wantedName = safeName(displayName ?? basename(info.isDirectory() ? source : file));
    let name = wantedName;
    for (let i = 2; await stat(join(this.dir, name)).catch(() => undefined); i++) name = `${wantedName}-${i}`;
    const folder = this.inside(name);
    const staging = this.inside(`.importing-${sha256.slice(0, 16)}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    try {
      await copyFile(file, join(staging, 'lora.safetensors'));
      const previewName = preview ? `preview${extname(preview).toLowerCase()}` : undefined;
      if (preview && previewName) await copyFile(preview, join(staging, previewName));
      const { ok: _ok, file: _file, ...rest } = report;
      const lora: LibraryLora = {
        id: sha256.slice(0, 16),
        name,
        sha256,
        folder,
        file: join(folder, 'lora.safetensors'),
        ...(previewName ? { preview: join(folder, previewName) } : {}),
        report: rest,
        importedAt: Date.now(),
      };
      await writeFile(join(staging, 'meta.json'), `${JSON.stringify(lora, null, 2)}\n`);
      await rename(staging, folder);
      return { lora, duplicate: false };
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }
}
