// The n-bit cache: made from a small safetensors model, reloaded, checked against its hashes and the float
// weights, and refused when stale or tampered. MatMulNBits is checked against the JS dequantization.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataType } from '../onnx/onnx-model.js';
import { GraphBuilder, attr } from '../onnx/graph-builder.js';
import { createSession, floatTensor, outputFloats, run } from '../ort.js';
import { gaussianNoise } from '../noise.js';
import { readSafetensorsHeader, readTensorBytes } from '../safetensors/safetensors.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { blockSizeFor, dequantizeMatrix, quantizeMatrix, toFloat32, type Bits } from './block-quant.js';
import { ensureQuantized, importQuantized, openQuantized, QUANTIZED_LINEARS, quantCacheDir } from './quantized-weights.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;

function relRms(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

async function copyTransformer(): Promise<{ root: string; weights: WeightSet }> {
  const root = mkdtempSync(join(tmpdir(), 'quant-'));
  cpSync(join(fixtures, 'transformer'), join(root, 'transformer'), { recursive: true });
  return { root, weights: await openWeightSet(join(root, 'transformer'), ['diffusion_pytorch_model'], root, 'transformer') };
}

describe('blockwise quantization in the MatMulNBits layout', () => {
  it.each([4, 8] as const)('%i-bit: ONNX Runtime multiplies by exactly the matrix the codes stand for', async (bits: Bits) => {
    const [n, k, m] = [48, 128, 5];
    const block = blockSizeFor(bits);
    const w = gaussianNoise(5, n * k);
    const q = quantizeMatrix(w, n, k, bits, block);
    const deq = dequantizeMatrix(q, n, k, bits, block);
    expect(relRms(deq, w)).toBeLessThan(bits === 8 ? 0.01 : 0.12);
    // The codes as external data, as the engine reads them from the cache.
    const folder = mkdtempSync(join(tmpdir(), 'nbits-'));
    const scaleBytes = new Uint8Array(q.scales.buffer);
    writeFileSync(join(folder, 'w.bin'), Buffer.concat([q.packed, scaleBytes]));
    const g = new GraphBuilder('nbits');
    const x = g.input('x', DataType.FLOAT, [m, k]);
    const packed = g.external('b', DataType.UINT8, [n, k / block, (block * bits) / 8], { location: 'w.bin', offset: 0, length: q.packed.length });
    const scales = g.external('s', DataType.FLOAT, [n * (k / block)], { location: 'w.bin', offset: q.packed.length, length: scaleBytes.length });
    const y = g.op('MatMulNBits', [x, packed, scales], { K: attr.int(k), N: attr.int(n), bits: attr.int(bits), block_size: attr.int(block) }, { domain: 'com.microsoft' });
    g.output(y, 'y', DataType.FLOAT, [m, n]);
    const session = await createSession(g.encode({ '': 21, 'com.microsoft': 1 }), { externalDataFolder: folder, intraOpThreads: 1 });
    const xs = gaussianNoise(6, m * k);
    const got = outputFloats(await run(session, 'nbits', { x: await floatTensor(xs, [m, k]) }), 'y');
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) want[i * n + j]! += xs[i * k + t]! * deq[j * k + t]!;
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4);
    await session.release();
  });
});

describe('the quantized-weights cache', () => {
  it('quantizes a model tensor by tensor, reloads it, and matches hashes and the float weights', async () => {
    const { root, weights } = await copyTransformer();
    const dir = quantCacheDir(root, 'transformer', 4);
    const seen: number[] = [];
    const made = await importQuantized(weights, 'transformer', 4, QUANTIZED_LINEARS.transformer, dir, (p) => seen.push(p.done));
    const linears = weights.names().filter((n) => QUANTIZED_LINEARS.transformer(n, weights.get(n).shape));
    expect(made.linears.size).toBe(linears.length);
    expect(seen).toEqual(linears.map((_, i) => i + 1));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { weights: { sha256: string }; sources: unknown[] };
    const sha = execFileSync('sha256sum', [join(dir, 'weights.safetensors')], { encoding: 'utf8' }).split(' ')[0];
    expect(manifest.weights.sha256).toBe(sha);
    expect(manifest.sources).toHaveLength(1);

    const reloaded = await openQuantized(weights, 'transformer', 4, dir);
    const header = await readSafetensorsHeader(join(dir, 'weights.safetensors'));
    for (const name of linears) {
      const q = reloaded.linears.get(name)!;
      const src = weights.get(name);
      const float = toFloat32(await readTensorBytes(await readSafetensorsHeader(src.file), name), src.dtype);
      const deq = dequantizeMatrix(
        { packed: await readTensorBytes(header, `${name}.q`), scales: new Float32Array((await readTensorBytes(header, `${name}.scales`)).slice().buffer) },
        q.n,
        q.k,
        4,
        q.blockSize,
      );
      expect(relRms(deq, float), name).toBeLessThan(0.12);
    }
  });

  it('refuses a cache made from other weights (stale) and one whose bytes changed (tampered)', async () => {
    const { root, weights } = await copyTransformer();
    const dir = quantCacheDir(root, 'transformer', 8);
    await importQuantized(weights, 'transformer', 8, QUANTIZED_LINEARS.transformer, dir);

    // Tampered: one byte of the cache flipped.
    const cache = join(dir, 'weights.safetensors');
    const fd = openSync(cache, 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, readFileSync(cache).length - 3);
    closeSync(fd);
    await expect(openQuantized(weights, 'transformer', 8, dir)).rejects.toMatchObject({ problem: 'tampered', message: expect.stringMatching(/does not match its manifest's hash/) });

    // Stale: the source weights were replaced (same names and shapes, other values: a fine-tune).
    await importQuantized(weights, 'transformer', 8, QUANTIZED_LINEARS.transformer, dir);
    await openQuantized(weights, 'transformer', 8, dir);
    const source = weights.get('transformer_blocks.0.attn.to_q.weight');
    const sfd = openSync(source.file, 'r+');
    writeSync(sfd, Buffer.from(gaussianNoise(1, source.byteLength / 4).buffer), 0, source.byteLength, source.offset);
    closeSync(sfd);
    await expect(openQuantized(weights, 'transformer', 8, dir)).rejects.toMatchObject({ problem: 'stale', message: expect.stringMatching(/made from different transformer weights/) });

    // Another setting: the 8-bit cache is not a 4-bit one.
    await expect(openQuantized(weights, 'transformer', 4, dir)).rejects.toMatchObject({ problem: 'stale' });

    // ensureQuantized says why and makes it again.
    const reasons: string[] = [];
    const fresh = await ensureQuantized(weights, 'transformer', 8, dir, (problem) => reasons.push(problem));
    expect(reasons).toEqual(['stale']);
    expect(fresh.linears.size).toBeGreaterThan(0);
    await openQuantized(weights, 'transformer', 8, dir);
  });

  it('treats an import killed before its manifest as no cache at all', async () => {
    const { root, weights } = await copyTransformer();
    const dir = quantCacheDir(root, 'transformer', 4);
    mkdirSync(dir, { recursive: true });
    cpSync(join(fixtures, 'transformer', 'diffusion_pytorch_model.safetensors'), join(dir, 'weights.safetensors.partial'));
    await expect(openQuantized(weights, 'transformer', 4, dir)).rejects.toMatchObject({ problem: 'missing' });
    const reasons: string[] = [];
    await ensureQuantized(weights, 'transformer', 4, dir, (p) => reasons.push(p));
    expect(reasons).toEqual(['missing']);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'verified.json', 'weights.safetensors']);
  });

  it.runIf(process.platform === 'linux' && process.getuid?.() === 0)('on a full disk says so and keeps nothing', async () => {
    const { weights } = await copyTransformer();
    const disk = mkdtempSync(join(tmpdir(), 'quant-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
    try {
      const dir = join(disk, 'transformer-int4');
      await expect(importQuantized(weights, 'transformer', 4, QUANTIZED_LINEARS.transformer, dir)).rejects.toMatchObject({
        code: 'storage-failed',
        message: expect.stringMatching(/The disk is full/),
      });
      expect(existsSync(dir)).toBe(false);
    } finally {
      execFileSync('umount', ['-l', disk]);
    }
  });
});
