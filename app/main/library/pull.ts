// `studio pull`: fetches the files of a repository the studio needs, from Hugging Face, a mirror or
// ModelScope, file by file with fallback between sources, after checking the disk has room.

import { mkdir, readdir, rm, stat, statfs } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { globMatch } from '../../shared/catalog.js';
import type { DownloadProgress } from '../../shared/contract.js';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { downloadFile, partPaths, type DownloadOptions } from './file-download.js';
import { findInHubCache } from './hub-cache.js';
import { missingModelFiles } from './model-completeness.js';
import { defaultRevision, fileUrl, listRepoFiles, type HubSource, type RemoteFile } from './hub-client.js';

/** Progress of a pull: the same shape the UI receives. */
export type PullProgress = DownloadProgress;

export interface PullOptions {
  readonly repo: string;
  readonly revision?: string;
  /** In the order to try; the first that lists the repository provides the file list. */
  readonly sources: readonly HubSource[];
  readonly include?: readonly string[];
  readonly dest: string;
  readonly download?: Omit<DownloadOptions, 'onProgress' | 'signal'>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: PullProgress) => void;
  readonly log?: (line: string) => void;
  /** For tests: what free space the disk reports. */
  readonly freeBytes?: (dir: string) => Promise<number>;
  /** Look in the Hugging Face cache first (default true); env locates the cache. */
  readonly useHubCache?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export interface PullResult {
  readonly dest: string;
  readonly files: readonly { path: string; size: number; status: 'downloaded' | 'present' }[];
}

const GB = 1024 ** 3;

async function freeSpace(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** A repo path may not climb out of the destination folder. */
function safeJoin(dest: string, path: string): string {
  const full = resolve(dest, path);
  if (!full.startsWith(resolve(dest) + sep)) throw new StudioError('download-failed', notice('error.repoPathOutside', { path }), path);
  return full;
}

export async function pullRepository(o: PullOptions): Promise<PullResult> {
  let listing: RemoteFile[] | undefined;
  let listedBy: HubSource | undefined;
  const problems: StudioError[] = [];
  for (const source of o.sources) {
    try {
      listing = await listRepoFiles(source, o.repo, o.revision ?? defaultRevision(source.kind), o.download?.headers, o.signal);
      listedBy = source;
      break;
    } catch (e) {
      problems.push(e instanceof StudioError ? e : new StudioError('download-failed', notice('error.internal', { message: (e as Error).message })));
      o.log?.(`${source.label}: ${(e as Error).message}`);
    }
  }
  if (!listing || !listedBy) {
    // Every source failed: the user reads the first source's reason; the detail keeps every source's words.
    const first = problems[0] ?? new StudioError('download-failed', notice('error.hubBadListing', { source: o.repo }));
    throw new StudioError('download-failed', notice('error.repoListFailed', { repo: o.repo, reason: first.notice }), problems.map((p) => `${p.message}${p.detail ? ` (${p.detail})` : ''}`).join(' '));
  }
  const wanted = listing.filter((f) => !o.include?.length || o.include.some((g) => globMatch(g, f.path)));
  if (wanted.length === 0) throw new StudioError('download-failed', notice('error.repoNoMatch', { repo: o.repo, patterns: o.include?.join(', ') ?? '' }), o.repo);
  // A file named outright (model_index.json, a LoRA's file) must be in the listing: one that is not
  // means the list was cut short, and what would arrive is not the whole model.
  const unlisted = (o.include ?? []).filter((g) => !/[*?]/.test(g) && !listing.some((f) => f.path === g));
  if (unlisted.length > 0) {
    throw new StudioError('download-failed', notice('error.download.incompleteModel', { repo: o.repo, count: unlisted.length, missing: unlisted.join(', ') }), unlisted.join('\n'));
  }

  // Already complete in the user's Hugging Face cache: use it where it is.
  if (o.useHubCache !== false) {
    const cached = await findInHubCache(o.repo, o.revision ?? 'main', o.env);
    if (cached) {
      const sizes = await Promise.all(wanted.map((f) => stat(join(cached.snapshot, f.path)).then((s) => s.size, () => -1)));
      if (sizes.every((size, i) => size === wanted[i]!.size) && (await missingModelFiles(cached.snapshot, o.include)).length === 0) {
        o.log?.(`${o.repo} is already in the Hugging Face cache at ${cached.snapshot}; using it in place.`);
        return { dest: cached.snapshot, files: wanted.map((f) => ({ path: f.path, size: f.size, status: 'present' as const })) };
      }
    }
  }

  const dest = resolve(o.dest);
  await mkdir(dest, { recursive: true });
  // Room for what is still missing (partial files already on disk count as present).
  let missing = 0;
  for (const f of wanted) {
    const target = safeJoin(dest, f.path);
    const have = await stat(target).catch(() => undefined);
    if (have?.size === f.size) continue;
    const part = await stat(partPaths(target).data).catch(() => undefined);
    missing += part?.size === f.size ? 0 : f.size;
  }
  const free = await (o.freeBytes ?? freeSpace)(dest);
  if (missing > free) {
    throw new StudioError(
      'storage-failed',
      notice('error.diskSpaceDownload', { dir: dest, needed: (missing / GB).toFixed(1), free: (free / GB).toFixed(1), more: ((missing - free) / GB).toFixed(1) }),
      dest,
    );
  }

  const total = wanted.reduce((a, f) => a + f.size, 0);
  let finished = 0;
  const samples: { t: number; bytes: number }[] = [];
  const report = (file: RemoteFile, fileBytes: number) => {
    const bytes = finished + fileBytes;
    const now = Date.now();
    samples.push({ t: now, bytes });
    while (samples.length > 2 && now - samples[0]!.t > 5000) samples.shift();
    const first = samples[0]!;
    const speed = now > first.t ? ((bytes - first.bytes) * 1000) / (now - first.t) : 0;
    o.onProgress?.({ file: file.path, fileBytes, fileTotal: file.size, bytes, total, speed, etaSeconds: speed > 0 ? (total - bytes) / speed : null });
  };

  const results: { path: string; size: number; status: 'downloaded' | 'present' }[] = [];
  for (const file of wanted) {
    if (o.signal?.aborted) throw o.signal.reason instanceof StudioError ? o.signal.reason : new StudioError('cancelled', notice('error.downloadStopped'));
    const sources = [listedBy, ...o.sources.filter((s) => s !== listedBy)].map((s) => ({
      label: s.label,
      url: fileUrl(s, o.repo, o.revision ?? defaultRevision(s.kind), file.path),
    }));
    const target = {
      dest: safeJoin(dest, file.path),
      size: file.size,
      ...(file.sha256 ? { sha256: file.sha256 } : {}),
      ...(file.gitSha1 ? { gitSha1: file.gitSha1 } : {}),
      sources,
    };
    let status: 'downloaded' | 'present';
    try {
      status = await downloadFile(target, { ...o.download, ...(o.signal ? { signal: o.signal } : {}), ...(o.log ? { log: o.log } : {}), onProgress: (b) => report(file, b) });
    } catch (e) {
      // A hash mismatch discards the file; one fresh attempt covers a corruption in transit.
      if (!(e instanceof StudioError) || e.code !== 'download-failed' || !/do not match/.test(e.message)) throw e;
      o.log?.(`${file.path}: ${e.message} Downloading it again.`);
      status = await downloadFile(target, { ...o.download, ...(o.signal ? { signal: o.signal } : {}), ...(o.log ? { log: o.log } : {}), onProgress: (b) => report(file, b) });
    }
    finished += file.size;
    report(file, 0);
    results.push({ path: file.path, size: file.size, status });
  }
  await checkComplete(o.repo, dest, o.include);
  return { dest, files: results };
}

/** Refuses a model folder that lacks a component's config or a listed shard (see model-completeness.ts). */
export async function checkComplete(repo: string, dir: string, include?: readonly string[]): Promise<void> {
  const missing = await missingModelFiles(dir, include);
  if (missing.length === 0) return;
  const shown = missing.slice(0, 6).join(', ') + (missing.length > 6 ? ', …' : '');
  throw new StudioError('download-failed', notice('error.download.incompleteModel', { repo, count: missing.length, missing: shown }), missing.join('\n'));
}

/** Sources for `auto`: Hugging Face (or HF_ENDPOINT), then ModelScope. */
export function sourcesFor(choice: 'hf' | 'modelscope' | 'auto', endpoint?: string, env: NodeJS.ProcessEnv = process.env): HubSource[] {
  const hfEndpoint = endpoint ?? env.HF_ENDPOINT;
  const hf: HubSource = hfEndpoint ? { kind: 'huggingface', endpoint: hfEndpoint, label: `Hugging Face mirror ${hfEndpoint}` } : { kind: 'huggingface', endpoint: 'https://huggingface.co', label: 'Hugging Face' };
  const ms: HubSource = choice === 'modelscope' && endpoint ? { kind: 'modelscope', endpoint, label: `ModelScope ${endpoint}` } : { kind: 'modelscope', endpoint: env.MODELSCOPE_ENDPOINT ?? 'https://www.modelscope.cn', label: 'ModelScope' };
  if (choice === 'hf') return [hf];
  if (choice === 'modelscope') return [ms];
  return [hf, ms];
}

export function defaultModelsDir(dataDir: string): string {
  return join(dataDir, 'models');
}

export type DownloadStatus = 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/**
 * One repository download the UI can pause, resume and cancel. Pausing stops the transfers and keeps
 * the partial files; resuming continues from them; cancelling deletes them.
 */
export class RepositoryDownload {
  status: DownloadStatus = 'running';
  private controller = new AbortController();
  private run: Promise<PullResult | undefined>;

  constructor(private readonly options: Omit<PullOptions, 'signal'>) {
    this.run = this.start();
  }

  private start(): Promise<PullResult | undefined> {
    this.status = 'running';
    this.controller = new AbortController();
    return pullRepository({ ...this.options, signal: this.controller.signal }).then(
      (r) => {
        this.status = 'done';
        return r;
      },
      (e: unknown) => {
        if (this.controller.signal.aborted) return undefined;
        this.status = 'failed';
        throw e;
      },
    );
  }

  /** Resolves with the result, or undefined when paused or cancelled. */
  get finished(): Promise<PullResult | undefined> {
    return this.run;
  }

  async pause(): Promise<void> {
    if (this.status !== 'running') return;
    this.controller.abort(new StudioError('cancelled', notice('error.downloadPaused')));
    await this.run.catch(() => undefined);
    this.status = 'paused';
  }

  resume(): void {
    if (this.status === 'paused' || this.status === 'failed') this.run = this.start();
  }

  async cancel(): Promise<void> {
    this.controller.abort(new StudioError('cancelled', notice('error.downloadCancelled')));
    await this.run.catch(() => undefined);
    this.status = 'cancelled';
    const dest = resolve(this.options.dest);
    const files = await readdir(dest, { recursive: true }).catch(() => [] as string[]);
    await Promise.all(files.filter((f) => String(f).includes('.studio-part')).map((f) => rm(join(dest, String(f)), { force: true })));
  }
}
