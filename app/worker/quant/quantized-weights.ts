// The quantized-weights cache: made once by an import step from a component's float safetensors, kept
// next to the model, and trusted only while its manifest matches both the source and its own bytes.
//
// <model root>/studio-quantized/<component>-int<bits>/
//   weights.safetensors  per linear `name`: `name.q` U8 [N, K/block, block*bits/8] and `name.scales` F32
//   manifest.json        format, bits, block size, the source files' fingerprints, the cache's sha256
//   verified.json        size and mtime at the last full hash check, so an unchanged cache is not rehashed
//
// The import streams tensors through a few quantizing threads (host memory is bounded by that many of the
// largest linear, ~400 MB each for Qwen2.5-VL's MLP read as bf16 and widened) and writes the manifest
// last: a killed import leaves no manifest and is redone.

import { createHash } from 'node:crypto';
import { open, readFile, rename, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice, type Notice } from '../../shared/notices.js';
import { readSafetensorsHeader } from '../safetensors/safetensors.js';
import type { WeightRef, WeightSet } from '../safetensors/weight-set.js';
import { blockSizeFor, type Bits, type QuantizedMatrix } from './block-quant.js';
import { QuantizePool } from './quantize-pool.js';
import { isModulationModule } from '../qwen-image/transformer-graph.js';

export const QUANT_FORMAT = 'studio-quantized';
export const QUANT_VERSION = 1;
const WEIGHTS_FILE = 'weights.safetensors';

export interface QuantizedLinear {
  readonly name: string;
  /** Output features (rows of the PyTorch weight). */
  readonly n: number;
  /** Input features. */
  readonly k: number;
  readonly bits: Bits;
  readonly blockSize: number;
  readonly packed: WeightRef;
  readonly scales: WeightRef;
}

export interface QuantizedLinears {
  /** The cache folder; sessions using it must read external data under a root that contains it. */
  readonly dir: string;
  readonly bits: Bits;
  readonly linears: ReadonlyMap<string, QuantizedLinear>;
}

interface Manifest {
  readonly format: string;
  readonly version: number;
  readonly component: string;
  readonly bits: Bits;
  readonly blockSize: number;
  readonly sources: readonly SourceFingerprint[];
  readonly weights: { readonly file: string; readonly size: number; readonly sha256: string };
  readonly tensors: number;
}

interface SourceFingerprint {
  readonly file: string;
  readonly size: number;
  readonly fingerprint: string;
}

/** Which weights of a component are quantized: the 2-D linears of its repeated blocks. */
export type LinearSelector = (name: string, shape: readonly number[]) => boolean;

export const QUANTIZED_LINEARS: Record<'transformer' | 'text-encoder', LinearSelector> = {
  // The modulation linears run in float32 in their own sessions (transformer-graph): never quantized.
  transformer: (name, shape) => shape.length === 2 && /^transformer_blocks\.\d+\..+\.weight$/.test(name) && !isModulationModule(name),
  'text-encoder': (name, shape) => shape.length === 2 && /(^|\.)layers\.\d+\.(self_attn|mlp)\.\w+\.weight$/.test(name),
};

export function quantCacheDir(modelRoot: string, component: string, bits: Bits): string {
  return join(modelRoot, 'studio-quantized', `${component}-int${bits}`);
}

const SAMPLES = 16;
const SAMPLE_BYTES = 64 * 1024;

/**
 * Identifies a source file without reading 40 GB: its size, its whole header and 16 evenly spaced 64 KB
 * samples of its data. A fine-tune of the same architecture has the same header but different samples.
 */
async function fingerprint(file: string): Promise<SourceFingerprint> {
  const header = await readSafetensorsHeader(file);
  const hash = createHash('sha256');
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(header.dataStart);
    await fh.read(head, 0, head.length, 0);
    hash.update(head);
    const span = header.fileSize - header.dataStart;
    const buf = Buffer.alloc(Math.min(SAMPLE_BYTES, span));
    for (let i = 0; i < SAMPLES && span > 0; i++) {
      const at = header.dataStart + Math.floor(((span - buf.length) * i) / Math.max(1, SAMPLES - 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return { file: basename(file), size: header.fileSize, fingerprint: hash.digest('hex') };
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(8 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

export interface ImportProgress {
  readonly done: number;
  readonly total: number;
  readonly tensor: string;
}

/** Quantizes the selected linears of `weights` into `dir`, tensor by tensor. Replaces any cache there. */
export async function importQuantized(
  weights: WeightSet,
  component: string,
  bits: Bits,
  select: LinearSelector,
  dir: string,
  onProgress?: (p: ImportProgress) => void,
): Promise<QuantizedLinears> {
  const blockSize = blockSizeFor(bits);
  const chosen = weights
    .names()
    .map((n) => weights.get(n))
    .filter((r) => select(r.name, r.shape) && r.shape[1]! % blockSize === 0)
    .sort((a, b) => (a.file === b.file ? a.offset - b.offset : a.file.localeCompare(b.file)));
  if (chosen.length === 0) throw new StudioError('model-unsupported', notice('error.quantNothing', { label: weights.label, bits }));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // The header is known before any data: sizes follow from the shapes.
  const header: Record<string, unknown> = { __metadata__: { format: QUANT_FORMAT, bits: String(bits), block_size: String(blockSize) } };
  let offset = 0;
  for (const r of chosen) {
    const [n, k] = r.shape as [number, number];
    const qBytes = (n * k * bits) / 8;
    header[`${r.name}.q`] = { dtype: 'U8', shape: [n, k / blockSize, (blockSize * bits) / 8], data_offsets: [offset, offset + qBytes] };
    offset += qBytes;
    const sBytes = (n * k * 4) / blockSize;
    header[`${r.name}.scales`] = { dtype: 'F32', shape: [(n * k) / blockSize], data_offsets: [offset, offset + sBytes] };
    offset += sBytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const partial = join(dir, `${WEIGHTS_FILE}.partial`);
  const hash = createHash('sha256');
  const out = await open(partial, 'w');
  const pool = new QuantizePool();
  try {
    const write = async (bytes: Uint8Array) => {
      hash.update(bytes);
      await out.write(bytes);
    };
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await write(len);
    await write(Buffer.from(json, 'utf8'));
    // Reading stays ahead of the threads by the pool's size; writing follows in order.
    const inFlight: { name: string; result: Promise<QuantizedMatrix> }[] = [];
    let written = 0;
    const writeOldest = async () => {
      const head = inFlight.shift()!;
      const q = await head.result;
      await write(q.packed);
      await write(new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength));
      onProgress?.({ done: ++written, total: chosen.length, tensor: head.name });
    };
    for (const r of chosen) {
      const [n, k] = r.shape as [number, number];
      const src = await open(r.file, 'r');
      const raw = new Uint8Array(r.byteLength);
      try {
        const { bytesRead } = await src.read(raw, 0, r.byteLength, r.offset);
        if (bytesRead !== r.byteLength) throw new StudioError('model-unsupported', notice('error.quantTruncated', { label: weights.label, file: basename(r.file), name: r.name }), r.name);
      } finally {
        await src.close();
      }
      if (inFlight.length >= pool.size) await writeOldest();
      const { result } = await pool.submit({ raw, dtype: r.dtype, n, k, bits, blockSize });
      result.catch(() => undefined); // awaited in order by writeOldest
      inFlight.push({ name: r.name, result });
    }
    while (inFlight.length > 0) await writeOldest();
  } catch (e) {
    await pool.close();
    await out.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new StudioError('storage-failed', notice('error.quantDiskFull', { bits, label: weights.label, dir }), dir);
    }
    throw e;
  }
  await pool.close();
  await out.close();
  const file = join(dir, WEIGHTS_FILE);
  await rename(partial, file);
  const size = (await stat(file)).size;
  const manifest: Manifest = {
    format: QUANT_FORMAT,
    version: QUANT_VERSION,
    component,
    bits,
    blockSize,
    sources: await Promise.all(weights.files.map(fingerprint)),
    weights: { file: WEIGHTS_FILE, size, sha256: hash.digest('hex') },
    tensors: chosen.length,
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return openQuantized(weights, component, bits, dir);
}

/** Why a cache cannot be used; `missing` is the normal first run. */
export type CacheProblem = 'missing' | 'stale' | 'tampered' | 'invalid';

export class QuantCacheError extends StudioError {
  constructor(
    readonly problem: CacheProblem,
    message: Notice,
    dir: string,
  ) {
    super('model-unsupported', message, dir);
  }
}

/**
 * Opens a cache after checking it belongs to exactly these source weights (stale otherwise) and that its
 * bytes are the ones the import wrote (tampered otherwise). Never uses a cache that fails either check.
 */
export async function openQuantized(weights: WeightSet, component: string, bits: Bits, dir: string): Promise<QuantizedLinears> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantCacheError(missing ? 'missing' : 'invalid', missing ? notice('error.quantCacheMissing', { bits, label: weights.label }) : notice('error.quantCacheUnreadable', { bits, dir }), dir);
  }
  if (manifest.format !== QUANT_FORMAT || manifest.version !== QUANT_VERSION || manifest.bits !== bits || manifest.component !== component) {
    throw new QuantCacheError('stale', notice('error.quantCacheVersion', { dir }), dir);
  }
  const current = await Promise.all(weights.files.map(fingerprint));
  const same =
    current.length === manifest.sources.length &&
    current.every((c) => manifest.sources.some((s) => s.file === c.file && s.size === c.size && s.fingerprint === c.fingerprint));
  if (!same) {
    throw new QuantCacheError('stale', notice('error.quantCacheOtherWeights', { bits, dir, label: weights.label }), dir);
  }
  const file = join(dir, manifest.weights.file);
  const info = await stat(file).catch(() => undefined);
  if (!info || info.size !== manifest.weights.size) {
    throw new QuantCacheError('tampered', notice('error.quantCacheFileSize', { bits, file }), dir);
  }
  // A full hash once per change of the file: later opens compare size and mtime with the last check.
  const stampFile = join(dir, 'verified.json');
  const stamp = await readFile(stampFile, 'utf8')
    .then((t) => JSON.parse(t) as { size: number; mtimeMs: number; sha256: string })
    .catch(() => undefined);
  const unchanged = stamp && stamp.size === info.size && stamp.mtimeMs === info.mtimeMs && stamp.sha256 === manifest.weights.sha256;
  if (!unchanged) {
    if ((await sha256File(file)) !== manifest.weights.sha256) {
      throw new QuantCacheError('tampered', notice('error.quantCacheHash', { bits, file }), dir);
    }
    await writeFile(stampFile, JSON.stringify({ size: info.size, mtimeMs: info.mtimeMs, sha256: manifest.weights.sha256 }));
  }
  const header = await readSafetensorsHeader(file);
  const linears = new Map<string, QuantizedLinear>();
  for (const t of header.tensors.values()) {
    if (!t.name.endsWith('.q')) continue;
    const name = t.name.slice(0, -2);
    const scales = header.tensors.get(`${name}.scales`);
    const source = weights.has(name) ? weights.get(name) : undefined;
    if (!scales || !source || t.shape[1]! * manifest.blockSize !== source.shape[1] || t.shape[0] !== source.shape[0]) {
      throw new QuantCacheError('invalid', notice('error.quantCacheMisfit', { bits, dir, label: weights.label, name }), dir);
    }
    const ref = (x: typeof t): WeightRef => ({ name: x.name, file, dtype: x.dtype, shape: x.shape, offset: x.offset, byteLength: x.byteLength });
    linears.set(name, { name, n: source.shape[0]!, k: source.shape[1], bits, blockSize: manifest.blockSize, packed: ref(t), scales: ref(scales) });
  }
  return { dir, bits, linears };
}

/**
 * The cache for these weights, made (or made again) when it is missing, stale, tampered or unreadable.
 * `onRebuild` says why, so the user learns that a cache was refused rather than silently replaced.
 */
export async function ensureQuantized(
  weights: WeightSet,
  component: 'transformer' | 'text-encoder',
  bits: Bits,
  dir: string,
  onRebuild?: (problem: CacheProblem, why: Notice) => void,
  onProgress?: (p: ImportProgress) => void,
): Promise<QuantizedLinears> {
  try {
    return await openQuantized(weights, component, bits, dir);
  } catch (e) {
    if (!(e instanceof QuantCacheError)) throw e;
    onRebuild?.(e.problem, e.notice);
    return importQuantized(weights, component, bits, QUANTIZED_LINEARS[component], dir, onProgress);
  }
}
