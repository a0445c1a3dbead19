// Downloads one file with several connections, resumable across drops, crashes and restarts, verified
// while it streams, and moved into place only when its hash matches.
//
// On disk next to the destination: `<name>.studio-part` (the data, written at its offsets) and
// `<name>.studio-part.json` (the ranges still to fetch). Hashing follows the contiguous prefix as it
// completes (reading back just-written bytes, usually from the page cache); after a restart the
// already-downloaded prefix is hashed once more, since a hash state cannot be saved.

import { createHash, type Hash } from 'node:crypto';
import { open, readFile, rename, rm, writeFile, stat, mkdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';

export interface SourceUrl {
  readonly label: string;
  readonly url: string;
}

export interface FileTarget {
  /** Absolute destination path. */
  readonly dest: string;
  readonly size: number;
  readonly sha256?: string;
  readonly gitSha1?: string;
  /** Tried in order; a source that keeps failing hands over to the next. */
  readonly sources: readonly SourceUrl[];
}

export interface DownloadOptions {
  readonly connections?: number;
  /** Files smaller than this use one connection. */
  readonly splitAbove?: number;
  readonly maxRetries?: number;
  readonly retryBaseMs?: number;
  /** A read that delivers nothing for this long is abandoned and retried. */
  readonly stallMs?: number;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesDone: number) => void;
  readonly log?: (line: string) => void;
}

interface Range {
  start: number;
  /** Inclusive. */
  end: number;
  /** The next byte to fetch; end + 1 when done. */
  next: number;
}

interface State {
  version: 1;
  size: number;
  sha256: string | null;
  etag: string | null;
  ranges: Range[];
}

class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    }, { once: true });
  });

const HASH_STEP = 8 * 1024 * 1024;

export function partPaths(dest: string): { data: string; state: string } {
  return { data: `${dest}.studio-part`, state: `${dest}.studio-part.json` };
}

function cancelledError(signal: AbortSignal): StudioError {
  return signal.reason instanceof StudioError ? signal.reason : new StudioError('cancelled', notice('error.downloadStopped'));
}

export async function downloadFile(target: FileTarget, options: DownloadOptions = {}): Promise<'downloaded' | 'present'> {
  const { dest, size } = target;
  const existing = await stat(dest).catch(() => undefined);
  if (existing?.isFile() && existing.size === size) return 'present';
  await mkdir(dirname(dest), { recursive: true });
  const paths = partPaths(dest);
  const connections = Math.max(1, options.connections ?? 4);
  const splitAbove = options.splitAbove ?? 16 * 1024 * 1024;
  const maxRetries = options.maxRetries ?? 6;
  const baseMs = options.retryBaseMs ?? 500;
  const stallMs = options.stallMs ?? 30_000;
  const log = options.log ?? (() => undefined);

  let state = await loadState(paths.state, target);
  const partExists = await stat(paths.data).catch(() => undefined);
  if (!state || !partExists || partExists.size !== size) state = freshState(target, size > splitAbove ? connections : 1);
  const fh = await open(paths.data, partExists ? 'r+' : 'w+');
  let closed = false;
  try {
    await fh.truncate(size);
    let lastSave = 0;
    // Ranges run concurrently; saving and hashing each run one at a time, in order.
    let saving: Promise<void> = Promise.resolve();
    const save = (force = false): Promise<void> => {
      if (!force && Date.now() - lastSave < 500) return saving;
      lastSave = Date.now();
      const snapshot = JSON.stringify(state);
      saving = saving.then(() => writeFile(paths.state, snapshot));
      return saving;
    };
    await save(true);
    const done = () => state.ranges.reduce((a, r) => a + (r.next - r.start), 0);
    options.onProgress?.(done());

    // The hash follows the contiguous downloaded prefix.
    const sha256 = createHash('sha256');
    const sha1 = target.gitSha1 ? createHash('sha1').update(`blob ${size}\0`) : undefined;
    let hashedUpTo = 0;
    let hashing: Promise<void> = Promise.resolve();
    const advanceHash = (): Promise<void> => {
      hashing = hashing.then(async () => {
        for (const r of state.ranges) {
          if (r.start > hashedUpTo) break;
          const upTo = r.next;
          if (upTo > hashedUpTo) {
            await hashRange(fh, hashedUpTo, upTo, [sha256, sha1]);
            hashedUpTo = upTo;
          }
          if (upTo <= r.end) break;
        }
      });
      return hashing;
    };

    let sourceIndex = 0;
    const failures: string[] = [];
    let lastHashed = 0;
    for (;;) {
      const source = target.sources[sourceIndex];
      if (!source) throw new StudioError('download-failed', notice('error.downloadFileFailed', { file: basename(dest), sources: target.sources.map((s) => s.label).join(', ') }), `${dest}: ${failures.join('; ')}`);
      try {
        await Promise.all(
          state.ranges.map((range) =>
            fetchRange(range, source, fh, {
              ...options,
              maxRetries,
              baseMs,
              stallMs,
              state,
              log,
              onBytes: async () => {
                const now = done();
                options.onProgress?.(now);
                await save();
                // Hash in steps of several megabytes: fewer, larger reads of the just-written data.
                if (now - lastHashed >= HASH_STEP) {
                  lastHashed = now;
                  await advanceHash();
                }
              },
            }),
          ),
        );
        break;
      } catch (e) {
        if (options.signal?.aborted) throw cancelledError(options.signal);
        if (e instanceof StudioError) throw e;
        failures.push(`${source.label}: ${(e as Error).message}`);
        log(`${source.label}: ${(e as Error).message}; trying the next source`);
        sourceIndex++;
      }
    }
    await save(true);
    await advanceHash();
    const got256 = sha256.digest('hex');
    const gotSha1 = sha1?.digest('hex');
    const bad = (target.sha256 && got256 !== target.sha256) || (target.gitSha1 && gotSha1 !== target.gitSha1);
    if (bad) {
      await fh.close();
      closed = true;
      await rm(paths.data, { force: true });
      await rm(paths.state, { force: true });
      throw new StudioError(
        'download-failed',
        notice('error.hashMismatch', { file: dest, got: (target.sha256 ? got256 : gotSha1) ?? '', expected: target.sha256 ?? target.gitSha1 ?? '' }),
        dest,
      );
    }
    await fh.sync();
    await fh.close();
    closed = true;
    await rename(paths.data, dest);
    await rm(paths.state, { force: true });
    return 'downloaded';
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
  }
}

async function hashRange(fh: FileHandle, from: number, to: number, hashes: (Hash | undefined)[]): Promise<void> {
  const buf = Buffer.alloc(Math.min(4 * 1024 * 1024, Math.max(1, to - from)));
  for (let pos = from; pos < to; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, to - pos), pos);
    if (bytesRead === 0) throw new Error('partial file ended early');
    for (const h of hashes) h?.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

function freshState(target: FileTarget, parts: number): State {
  const ranges: Range[] = [];
  const size = target.size;
  const step = Math.ceil(size / parts) || 1;
  for (let start = 0; start < size; start += step) ranges.push({ start, end: Math.min(size, start + step) - 1, next: start });
  if (ranges.length === 0) ranges.push({ start: 0, end: -1, next: 0 }); // an empty file
  return { version: 1, size, sha256: target.sha256 ?? null, etag: null, ranges };
}

async function loadState(file: string, target: FileTarget): Promise<State | undefined> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as State;
    if (s.version !== 1 || s.size !== target.size || s.sha256 !== (target.sha256 ?? null)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

interface RangeContext extends DownloadOptions {
  readonly maxRetries: number;
  readonly baseMs: number;
  readonly stallMs: number;
  readonly state: State;
  readonly log: (line: string) => void;
  readonly onBytes: () => Promise<void>;
}

async function fetchRange(range: Range, source: SourceUrl, fh: FileHandle, ctx: RangeContext): Promise<void> {
  let failures = 0;
  while (range.next <= range.end) {
    if (ctx.signal?.aborted) throw cancelledError(ctx.signal);
    try {
      await fetchOnce(range, source, fh, ctx);
      failures = 0;
    } catch (e) {
      if (ctx.signal?.aborted) throw cancelledError(ctx.signal);
      // Only transient failures are retried here; a 404 or a server that cannot resume goes to the next source.
      if (!(e instanceof RetryableError)) throw e;
      failures++;
      if (failures > ctx.maxRetries) throw new Error(`gave up after ${ctx.maxRetries} retries: ${(e as Error).message}`, { cause: e });
      const wait = e instanceof RetryableError && e.retryAfterMs !== undefined ? e.retryAfterMs : ctx.baseMs * 2 ** (failures - 1) * (0.75 + Math.random() / 2);
      ctx.log(`${source.label}: ${(e as Error).message}; retry ${failures}/${ctx.maxRetries} in ${Math.round(wait)} ms`);
      await sleep(wait, ctx.signal);
    }
  }
}

async function fetchOnce(range: Range, source: SourceUrl, fh: FileHandle, ctx: RangeContext): Promise<void> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(ctx.signal?.reason);
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => controller.abort(new RetryableError(`no data for ${ctx.stallMs / 1000} s`)), ctx.stallMs);
  };
  try {
    armStall();
    const res = await fetch(source.url, {
      headers: { ...ctx.headers, Range: `bytes=${range.next}-${range.end}`, 'Accept-Encoding': 'identity' },
      signal: controller.signal,
      redirect: 'follow',
    }).catch((e: unknown) => {
      throw controller.signal.reason instanceof RetryableError ? controller.signal.reason : new RetryableError(`connection failed (${(e as Error).message})`);
    });
    if (res.status === 429 || res.status >= 500) {
      const after = Number(res.headers.get('retry-after'));
      await res.body?.cancel();
      throw new RetryableError(`HTTP ${res.status}`, Number.isFinite(after) && after >= 0 ? Math.min(after, 120) * 1000 : undefined);
    }
    if (res.status === 404 || res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const whole = res.status === 200;
    if (!whole && res.status !== 206) {
      await res.body?.cancel();
      throw new RetryableError(`unexpected HTTP ${res.status}`);
    }
    if (whole && range.next !== 0) {
      // The server ignored Range: this source cannot resume; another one may.
      await res.body?.cancel();
      throw new Error('the server does not support resuming (ignored the Range header)');
    }
    const etag = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
    if (etag && ctx.state.etag && etag !== ctx.state.etag) {
      await res.body?.cancel();
      throw new StudioError('not-found', notice('error.fileChanged', { before: ctx.state.etag, after: etag }));
    }
    if (etag) ctx.state.etag = etag;
    if (!res.body) throw new RetryableError('empty response');
    const limit = range.end;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      armStall();
      // With a 200 the body is the whole file: keep only what this range still needs.
      const take = Math.min(chunk.length, limit - range.next + 1);
      if (take <= 0) break;
      await fh.write(chunk, 0, take, range.next);
      range.next += take;
      await ctx.onBytes();
    }
    if (range.next <= range.end) throw new RetryableError(`connection dropped at byte ${range.next}`);
  } catch (e) {
    if (controller.signal.reason instanceof RetryableError && !(e instanceof StudioError)) throw controller.signal.reason;
    if (e instanceof Error && !(e instanceof RetryableError) && !(e instanceof StudioError) && !/HTTP|Range/.test(e.message)) {
      throw new RetryableError(`read failed (${e.message})`);
    }
    throw e;
  } finally {
    clearTimeout(stallTimer);
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}
