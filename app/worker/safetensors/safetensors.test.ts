import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes } from './safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-'));
let n = 0;
function file(bytes: Uint8Array | Buffer): string {
  const f = join(dir, `t${n++}.safetensors`);
  writeFileSync(f, bytes);
  return f;
}

/** A file with a hand-written header, for shapes encodeSafetensors would never produce. */
function rawFile(header: unknown, dataBytes: number): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return file(Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
}

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('safetensors', () => {
  it('writes and reads tensors with metadata, data 8-byte aligned', async () => {
    const f = file(
      encodeSafetensors(
        [
          { name: 'a', dtype: 'F32', shape: [2, 2], data: f32([1, 2, 3, 4]) },
          { name: 'b', dtype: 'F32', shape: [], data: f32([5]) },
        ],
        { ss_trigger: 'fox' },
      ),
    );
    const h = await readSafetensorsHeader(f);
    expect(h.dataStart % 8).toBe(0);
    expect(h.metadata).toEqual({ ss_trigger: 'fox' });
    expect(h.tensors.get('a')).toMatchObject({ dtype: 'F32', shape: [2, 2], byteLength: 16 });
    expect([...new Float32Array((await readTensorBytes(h, 'b')).buffer)]).toEqual([5]);
  });

  it.each([
    ['a file shorter than the length prefix', () => file(Buffer.from([1, 2, 3])), /too short to be safetensors/],
    ['a header claiming 100 GB', () => { const b = Buffer.alloc(16); b.writeBigUInt64LE(100n * 2n ** 30n); return file(b); }, /claims 107374182400 bytes/],
    ['a header longer than the file', () => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n); return file(b); }, /truncated/],
    ['a header that is not JSON', () => rawFile('{not json', 0), /not valid UTF-8 JSON/],
    ['a header that is a list', () => rawFile([1, 2], 0), /not a JSON object/],
    ['an unknown dtype', () => rawFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1), /tensor w.*unsupported dtype "Q4"/],
    ['a negative dimension', () => rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /tensor w.*shape \[-1\]/],
    ['a size that does not match the shape', () => rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor w.*holds 8 bytes but shape \[3\] of F32 needs 12/],
    ['data past the end of the file (truncated download)', () => rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /tensor w.*truncated or damaged/],
    ['overlapping tensors', () => rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), /tensor b.*overlaps tensor a/],
    ['non-string metadata', () => rawFile({ __metadata__: { steps: 4 } }, 0), /__metadata__.steps is not a string/],
  ])('refuses %s, naming the file and tensor', async (_, make, pattern) => {
    const f = make();
    await expect(readSafetensorsHeader(f)).rejects.toThrow(pattern);
    await expect(readSafetensorsHeader(f)).rejects.toThrow(/^t\d+\.safetensors/);
  });
});
