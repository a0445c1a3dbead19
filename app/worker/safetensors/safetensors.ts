// Reads and writes safetensors files; the header is validated strictly so a bad file fails with a precise message.

import { open } from 'node:fs/promises';
import { DTYPE_BYTES, MAX_HEADER_BYTES, SafetensorsError, parseSafetensorsHeader, type SafetensorsDtype, type SafetensorsHeader } from '../../shared/safetensors-format.js';

export { DTYPE_BYTES, MAX_HEADER_BYTES, SafetensorsError, parseSafetensorsHeader } from '../../shared/safetensors-format.js';
export type { SafetensorsDtype, SafetensorsHeader, TensorInfo } from '../../shared/safetensors-format.js';

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
