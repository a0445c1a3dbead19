// The LoRA library: one folder per LoRA (the file, meta.json, an optional preview), imported from a
// dropped file or folder after inspection, de-duplicated by content hash, never written outside itself.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice, noticeText, type Notice } from '../../shared/notices.js';
import { LORA_ARCHITECTURE_NAMES, familyTitles } from '../../shared/model-families.js';
import { inspectLoraFile, type LoraReport } from './lora-inspect.js';

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

function familyRefusal(report: LoraReport, name: string): Notice {
  const runs = familyTitles();
  const family = LORA_ARCHITECTURE_NAMES[report.architecture];
  return family === undefined ? notice('lora.unknownFamily', { name, runs }) : notice('lora.otherFamily', { name, family, runs });
}

/** Why a library folder could not be listed; the rest of the library is listed without it. */
export interface LibraryProblem {
  readonly folder: string;
  readonly reason: string;
}

const META = 'meta.json';
const WEIGHTS = 'lora.safetensors';

function isLibraryLora(v: unknown): v is LibraryLora {
  const m = v as Partial<LibraryLora> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.id === 'string' &&
    typeof m.name === 'string' &&
    typeof m.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.sha256) &&
    typeof m.importedAt === 'number' &&
    typeof m.report === 'object' &&
    m.report !== null &&
    typeof m.report.role === 'string' &&
    typeof m.report.architecture === 'string'
  );
}

/** Writes meta.json through a temporary file and a rename: a kill mid-write leaves the old one whole. */
async function writeMeta(folder: string, lora: LibraryLora): Promise<void> {
  const tmp = join(folder, `${META}.${randomBytes(4).toString('hex')}.partial`);
  await writeFile(tmp, `${JSON.stringify(lora, null, 2)}\n`);
  await rename(tmp, join(folder, META));
}

export class LoraLibrary {
  /** Imports run one at a time past their inspection: the duplicate check and the folder rename are one step. */
  private importing: Promise<unknown> = Promise.resolve();
  private problemsSeen: LibraryProblem[] = [];

  constructor(readonly dir: string) {}

  private inside(path: string): string {
    const full = resolve(this.dir, path);
    if (!full.startsWith(resolve(this.dir) + sep)) throw new StudioError('invalid-request', notice('error.outsideLibrary', { path }), path);
    return full;
  }

  /** Removes a LoRA's folder (its file, meta.json and preview); false when there is no such LoRA. */
  async remove(id: string): Promise<boolean> {
    const lora = (await this.list()).find((l) => l.id === id);
    if (!lora) return false;
    // Renamed away first, so a kill mid-delete never leaves half a library entry under its name.
    const doomed = this.inside(`.deleting-${randomBytes(4).toString('hex')}`);
    await rename(this.inside(basename(lora.folder)), doomed);
    await rm(doomed, { recursive: true, force: true });
    return true;
  }

  /** Makes an image (a JPEG or PNG file) the LoRA's preview. */
  async setPreview(id: string, image: string): Promise<LibraryLora> {
    const lora = (await this.list()).find((l) => l.id === id);
    if (!lora) throw new StudioError('not-found', notice('error.loraGone'), id);
    const name = `preview${extname(image).toLowerCase() === '.png' ? '.png' : '.jpg'}`;
    const folder = this.inside(basename(lora.folder));
    await copyFile(image, join(folder, `${name}.partial`));
    await rename(join(folder, `${name}.partial`), join(folder, name));
    const updated: LibraryLora = { ...lora, preview: join(folder, name) };
    await writeMeta(folder, updated);
    return updated;
  }

  /** Folders the last list() had to leave out, with the reason (for the log and the UI). */
  get problems(): readonly LibraryProblem[] {
    return this.problemsSeen;
  }

  /**
   * Every LoRA in the library. A folder whose meta.json is damaged or missing (a kill or a full disk
   * while it was written) is rebuilt from its weights file; one without usable weights is left out and
   * reported in `problems`, never a reason to fail: the studio must start whatever one folder holds.
   * Paths are derived from where the library is now, so a moved data folder keeps working.
   */
  async list(): Promise<LibraryLora[]> {
    const entries = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    const out: LibraryLora[] = [];
    const problems: LibraryProblem[] = [];
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const folder = join(this.dir, e.name);
      // What an import killed before its final rename leaves behind.
      if (e.name.startsWith('.importing-') || e.name.startsWith('.deleting-')) {
        await rm(folder, { recursive: true, force: true });
        continue;
      }
      if (e.name.startsWith('.')) continue;
      let meta: unknown;
      try {
        meta = JSON.parse(await readFile(join(folder, META), 'utf8'));
      } catch {
        meta = undefined;
      }
      try {
        const lora = isLibraryLora(meta) ? this.relocated(meta, folder) : await this.rebuild(folder, e.name);
        out.push(lora);
      } catch (err) {
        problems.push({ folder, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    this.problemsSeen = problems;
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private relocated(meta: LibraryLora, folder: string): LibraryLora {
    const preview = meta.preview ? join(folder, basename(meta.preview)) : undefined;
    const { preview: _old, ...rest } = meta;
    return { ...rest, folder, file: join(folder, WEIGHTS), ...(preview ? { preview } : {}) };
  }

  /** meta.json again from the weights file: inspected, hashed, named after its folder. */
  private async rebuild(folder: string, name: string): Promise<LibraryLora> {
    const file = join(folder, WEIGHTS);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`${name} has neither a readable meta.json nor ${WEIGHTS}`);
    const report = await inspectLoraFile(file, `${name}.safetensors`);
    if (!report.ok) throw new Error(noticeText(report.reason));
    const sha256 = await sha256File(file);
    const previewName = (await readdir(folder)).find((n) => /^preview\.(png|jpe?g|webp)$/i.test(n));
    const { ok: _ok, file: _file, ...rest } = report;
    const lora: LibraryLora = {
      id: sha256.slice(0, 16),
      name,
      sha256,
      folder,
      file,
      ...(previewName ? { preview: join(folder, previewName) } : {}),
      report: rest,
      importedAt: Math.floor(info.mtimeMs),
    };
    await writeMeta(folder, lora);
    return lora;
  }

  /**
   * Imports a .safetensors file, or a folder holding one (with an optional preview image). Refusals
   * (pickles, damaged files, non-LoRA files) throw with the reason; the library is left unchanged.
   * `displayName` names the folder when the source is an upload with a temporary name.
   */
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
    const wantedName = safeName(displayName ?? basename(info.isDirectory() ? source : file));
    // Ten drops of the same file at once: the first stores it, the other nine find it stored.
    const run = this.importing.then(() => this.store(file, preview, report, sha256, wantedName));
    this.importing = run.catch(() => undefined);
    return run;
  }

  private async store(file: string, preview: string | undefined, report: LoraReport, sha256: string, wantedName: string): Promise<{ lora: LibraryLora; duplicate: boolean }> {
    const existing = (await this.list()).find((l) => l.sha256 === sha256);
    if (existing) return { lora: existing, duplicate: true };

    await mkdir(this.dir, { recursive: true });
    let name = wantedName;
    for (let i = 2; await stat(join(this.dir, name)).catch(() => undefined); i++) name = `${wantedName}-${i}`;
    const folder = this.inside(name);
    const staging = this.inside(`.importing-${sha256.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    await mkdir(staging, { recursive: true });
    try {
      await copyFile(file, join(staging, WEIGHTS));
      const previewName = preview ? `preview${extname(preview).toLowerCase()}` : undefined;
      if (preview && previewName) await copyFile(preview, join(staging, previewName));
      const { ok: _ok, file: _file, ...rest } = report;
      const lora: LibraryLora = {
        id: sha256.slice(0, 16),
        name,
        sha256,
        folder,
        file: join(folder, WEIGHTS),
        ...(previewName ? { preview: join(folder, previewName) } : {}),
        report: rest,
        importedAt: Date.now(),
      };
      await writeMeta(staging, lora);
      await rename(staging, folder);
      return { lora, duplicate: false };
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }
}
