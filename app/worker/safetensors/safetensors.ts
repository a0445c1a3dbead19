// Reads and writes safetensors files; the header is validated strictly so a bad file fails with a precise message.

import { open, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** Real headers are well under a megabyte per thousand tensors; 100 MB guards against hostile lengths. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Absolute byte offset of the tensor's data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  readonly fileSize: number;
  readonly dataStart: number;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${basename(file)}${tensor ? ` (tensor ${tensor})` : ''}: ${message}`);
  }
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTES, value);
}

/** Parses and validates a header given its bytes and the total file size. */
export function parseSafetensorsHeader(file: string, headerJson: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerJson.length;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerJson));
  } catch (e) {
    throw new SafetensorsError(file, `the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SafetensorsError(file, 'the header is not a JSON object');
  }
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: { begin: number; end: number; name: string }[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new SafetensorsError(file, '__metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, `__metadata__.${k} is not a string`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw new SafetensorsError(file, 'entry is not an object', name);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDtype(dtype)) throw new SafetensorsError(file, `unsupported dtype ${JSON.stringify(dtype)}`, name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `data_offsets ${JSON.stringify(offsets)} is not [begin, end]`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new SafetensorsError(file, `data_offsets end ${end} is before begin ${begin}`, name);
    if (end > dataSize) {
      throw new SafetensorsError(
        file,
        `data ends at byte ${end} but the file holds only ${Math.max(0, dataSize)} data bytes (truncated or damaged download?)`,
        name,
      );
    }
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(file, `holds ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`, name);
    }
    ranges.push({ begin, end, name });
    tensors.set(name, { name, dtype, shape: shape as number[], offset: dataStart + begin, byteLength: end - begin });
  }
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.begin < prev.end && cur.end > cur.begin) {
      throw new SafetensorsError(file, `its data overlaps tensor ${prev.name}`, cur.name);
    }
  }
  return { file, fileSize, dataStart, tensors, metadata };
}

/** Reads only the header; the data is never touched, so this is fast on 40 GB checkpoints. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new SafetensorsError(file, `the file is ${size} bytes, too short to be safetensors`);
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLength = lenBuf.readBigUInt64LE(0);
    if (headerLength < 2n || headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw new SafetensorsError(file, `the header claims ${headerLength} bytes, which no valid safetensors file has`);
    }
    const n = Number(headerLength);
    if (8 + n > size) {
      throw new SafetensorsError(file, `the header claims ${n} bytes but the file is only ${size} bytes (truncated?)`);
    }
    const header = Buffer.alloc(n);
    await fh.read(header, 0, n, 8);
    return parseSafetensorsHeader(file, header, size);
  } finally {
    await fh.close();
  }
}

/** Reads one tensor's bytes (for small tensors; large weights are memory-mapped by ONNX Runtime instead). */
export async function readTensorBytes(header: SafetensorsHeader, name: string): Promise<Uint8Array> {
  const info = header.tensors.get(name);
  if (!info) throw new SafetensorsError(header.file, 'not found in the file', name);
  const fh = await open(header.file, 'r');
  try {
    const buf = new Uint8Array(info.byteLength);
    const { bytesRead } = await fh.read(buf, 0, info.byteLength, info.offset);
    if (bytesRead !== info.byteLength) throw new SafetensorsError(header.file, 'file ended inside the tensor data', name);
    return buf;
  } finally {
    await fh.close();
  }
}

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Writes tensors in the given order; the header is padded with spaces to keep data 8-byte aligned. */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (expected !== t.data.length) throw new Error(`tensor ${t.name}: ${t.data.length} bytes for shape [${t.shape.join(',')}] ${t.dtype}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(t.data, pos);
    pos += t.data.length;
  }
  return out;
}

export async function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  await writeFile(file, encodeSafetensors(tensors, metadata));
}
