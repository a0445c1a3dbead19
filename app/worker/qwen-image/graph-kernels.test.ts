// Nothing the GPU providers run falls back to the CPU: the full-size graphs (skeletons of the official
// shards) as built for CUDA in bf16 and for DirectML in fp16, every plan's form (whole, streamed parts,
// modulation, text encoder plain and for padded batches, VAE decoder and encoder, 8- and 4-bit weights),
// walked node by node against the kernels ONNX Runtime registers for that provider (onnx/provider-kernels.ts,
// from its operator kernel list; the source is named there).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentPrecision, type Precision } from '../../shared/precision.js';
import { analyzeGraph } from '../onnx/graph-analysis.js';
import { unregisteredKernels, type KernelProblem } from '../onnx/graph-kernels.js';
import { DataType } from '../onnx/onnx-model.js';
import { GraphBuilder, attr } from '../onnx/graph-builder.js';
import { createSession, floatTensor, outputFloats, run } from '../ort.js';
import { KERNEL_TABLE_SOURCE } from '../onnx/provider-kernels.js';
import { blockSizeFor, type Bits } from '../quant/block-quant.js';
import { QUANTIZED_LINEARS, type QuantizedLinear, type QuantizedLinears } from '../quant/quantized-weights.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { writeSkeleton, type Inventory } from '../safetensors/skeleton.js';
import { readConfig } from './components.js';
import { parseTextEncoderConfig, type TextEncoderConfig } from './text-encoder-config.js';
import { textEncoderGraph } from './text-encoder-graph.js';
import { parseTransformerConfig, type TransformerConfig } from './transformer-config.js';
import { modulationGraph, transformerGraph, type TransformerPart } from './transformer-graph.js';
import { parseVaeConfig, type VaeConfig } from './vae-config.js';
import { vaeDecoderGraph, vaeEncoderGraph } from './vae-graph.js';
import type { GraphProto } from '../onnx/onnx-model.js';

const inventories = new URL('../../../test-fixtures/full-size/qwen-image/', import.meta.url).pathname;

/** A quantized cache's description for the selected linears (no bytes: graphs only name them). */
function quantized(weights: WeightSet, component: 'transformer' | 'text-encoder', bits: Bits, root: string): QuantizedLinears {
  const blockSize = blockSizeFor(bits);
  const dir = join(root, 'studio-quantized', `${component}-int${bits}`);
  const linears = new Map<string, QuantizedLinear>();
  for (const name of weights.names()) {
    const shape = weights.get(name).shape;
    if (!QUANTIZED_LINEARS[component](name, shape) || shape[1]! % blockSize !== 0) continue;
    const [n, k] = shape as [number, number];
    const ref = (suffix: string, dtype: 'U8' | 'F32', dims: number[], bytes: number) => ({ name: `${name}.${suffix}`, file: join(dir, 'weights.safetensors'), dtype, shape: dims, offset: 0, byteLength: bytes });
    linears.set(name, { name, n, k, bits, blockSize, packed: ref('q', 'U8', [n, k / blockSize, (blockSize * bits) / 8], (n * k * bits) / 8), scales: ref('scales', 'F32', [(n * k) / blockSize], ((n * k) / blockSize) * 4) });
  }
  return { dir, bits, linears };
}

describe('the full-size graphs against the kernels each GPU provider registers', () => {
  const root = mkdtempSync(join(tmpdir(), 'qwen-kernels-'));
  let t: { weights: WeightSet; config: TransformerConfig };
  let e: { weights: WeightSet; config: TextEncoderConfig };
  let v: { weights: WeightSet; config: VaeConfig };
  beforeAll(async () => {
    for (const c of ['transformer', 'text_encoder', 'vae']) await writeSkeleton(JSON.parse(readFileSync(join(inventories, `${c}.json`), 'utf8')) as Inventory, root);
    const open = async (c: string, stems: string[]) => openWeightSet(join(root, c), stems, root, c);
    t = { weights: await open('transformer', ['diffusion_pytorch_model']), config: parseTransformerConfig(await readConfig(join(root, 'transformer')), 'c') };
    e = { weights: await open('text_encoder', ['model']), config: parseTextEncoderConfig(await readConfig(join(root, 'text_encoder')), 'c') };
    v = { weights: await open('vae', ['diffusion_pytorch_model']), config: parseVaeConfig(await readConfig(join(root, 'vae')), 'c') };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Every graph a job can build for this provider, at 1024x1024 with 256 text tokens, with its inputs. */
  function graphs(precision: Precision, target: 'cuda' | 'dml'): [string, GraphProto, Record<string, number[]>][] {
    const S = 64 * 64;
    const T = 256;
    const transformerInputs: Record<string, number[]> = { hidden_states: [1, S, 64], encoder_hidden_states: [1, T, 3584], img_cos: [S, 64], img_sin: [S, 64], txt_cos: [T, 64], txt_sin: [T, 64], 'mod.out': [1, 6144], img: [1, S, 3072], txt: [1, T, 3072] };
    for (let i = 0; i < 60; i++) transformerInputs[`mod.${i}`] = [1, 12 * 3072];
    const p = (component: 'transformer' | 'text-encoder' | 'vae') => ({ precision: componentPrecision(precision, component === 'transformer' ? 'denoiser' : component), target });
    const tp = p('transformer');
    const part = (name: string, part_: TransformerPart, extra: object = {}): [string, GraphProto, Record<string, number[]>] => [name, transformerGraph(t.weights, t.config, { ...tp, part: part_, ...extra }).graph(), transformerInputs];
    const ids = { input_ids: [1, 290], position_ids: [1, 290], rope_cos: [290, 64], rope_sin: [290, 64] };
    const out: [string, GraphProto, Record<string, number[]>][] = [
      part('transformer (whole)', { kind: 'whole' }),
      part('transformer front (4 blocks)', { kind: 'front', to: 4 }),
      part('transformer blocks 4-7', { kind: 'blocks', from: 4, to: 8 }),
      part('transformer tail', { kind: 'tail' }),
      part('transformer, style slots', { kind: 'blocks', from: 0, to: 1 }, { styleSlots: { count: 1, rank: 32 } }),
      ['modulation', modulationGraph(t.weights, t.config, { blocks: [0, 60], withOut: true }).graph(), { timestep: [4] }],
      ['text encoder', textEncoderGraph(e.weights, e.config, p('text-encoder')).graph(), ids],
      ['text encoder (padded batch)', textEncoderGraph(e.weights, e.config, { ...p('text-encoder'), masked: true }).graph(), { ...ids, attention_bias: [1, 1, 290, 290] }],
      ['VAE decoder', vaeDecoderGraph(v.weights, v.config, p('vae')).graph(), { z: [1, 16, 32, 32] }],
      ['VAE encoder', vaeEncoderGraph(v.weights, v.config, p('vae')).graph(), { image: [1, 3, 256, 256] }],
    ];
    for (const bits of [8, 4] as const) {
      out.push(part(`transformer int${bits}`, { kind: 'blocks', from: 0, to: 2 }, { quantized: quantized(t.weights, 'transformer', bits, root) }));
      out.push([`text encoder int${bits}`, textEncoderGraph(e.weights, e.config, { ...p('text-encoder'), quantized: quantized(e.weights, 'text-encoder', bits, root) }).graph(), ids]);
    }
    return out;
  }

  const check = (precision: Precision, target: 'cuda' | 'dml'): Record<string, KernelProblem[]> =>
    Object.fromEntries(graphs(precision, target).map(([name, g, inputs]) => [name, unregisteredKernels(analyzeGraph(g, inputs), target)]));

  it(`CUDA, bf16: every node has a CUDA kernel (${KERNEL_TABLE_SOURCE.split(' (')[0]})`, () => {
    const problems = check('bf16', 'cuda');
    expect(Object.values(problems).flat()).toEqual([]);
  });

  it('DirectML, fp16: every node has a DirectML kernel (no bfloat16 anywhere, MatMulNBits with its zero points)', () => {
    const problems = check('fp16', 'dml');
    expect(Object.values(problems).flat()).toEqual([]);
  });

  it('finds the pairs a provider lacks: bf16 graphs on DirectML, a bf16 VAE on CUDA', () => {
    const dml = check('bf16', 'dml');
    expect(dml['transformer (whole)']!.map((p) => p.reason)).toEqual(expect.arrayContaining([expect.stringMatching(/^dml registers com\.microsoft:FusedMatMul for f32, f16, not bf16$/)]));
    const vae = unregisteredKernels(analyzeGraph(vaeDecoderGraph(v.weights, v.config, { precision: 'bf16', target: 'cuda' }).graph(), { z: [1, 16, 32, 32] }), 'cuda');
    expect(vae.map((p) => p.op)).toEqual(expect.arrayContaining([':Conv', ':Resize']));
    // Causal attention built for CUDA (the kernel's own mask; a [B, 1, L, L] bias for padded batches) would lose
    // its mask, or be refused, on DirectML.
    const ids = { input_ids: [2, 290], position_ids: [2, 290], rope_cos: [290, 64], rope_sin: [290, 64] };
    const forCuda = (masked: boolean) => textEncoderGraph(e.weights, e.config, { precision: 'fp16', target: 'cuda', masked }).graph();
    expect(unregisteredKernels(analyzeGraph(forCuda(false), ids), 'dml').map((p) => p.reason)).toContain(
      "DirectML ignores MultiHeadAttention's unidirectional attribute: causal attention needs an explicit bias",
    );
    expect(unregisteredKernels(analyzeGraph(forCuda(true), { ...ids, attention_bias: [2, 1, 290, 290] }), 'dml').map((p) => p.reason)).toContain(
      'DirectML takes a MultiHeadAttention bias only as the full [batch, heads, S, T]',
    );
    // The quantized graphs without zero points would not run on DirectML.
    const noZeroPoints = transformerGraph(t.weights, t.config, { precision: 'fp16', target: 'cuda', part: { kind: 'blocks', from: 0, to: 1 }, quantized: quantized(t.weights, 'transformer', 4, root) }).graph();
    const shapes: Record<string, number[]> = { img: [1, 16, 3072], txt: [1, 8, 3072], img_cos: [16, 64], img_sin: [16, 64], txt_cos: [8, 64], txt_sin: [8, 64], 'mod.0': [1, 36864] };
    expect(unregisteredKernels(analyzeGraph(noZeroPoints, shapes), 'dml').map((p) => p.reason)).toContain('DirectML runs MatMulNBits only with its zero points given (four inputs)');
  });

  it('the zero points DirectML needs are the ones the codes imply: the same product on the CPU with and without them', async () => {
    const [n, k, bits] = [8, 64, 4];
    const build = (zeroPoints: boolean) => {
      const g = new GraphBuilder('nbits');
      const x = g.input('x', DataType.FLOAT, [1, k]);
      const codes = g.constUint8('q', Array.from({ length: (n * k * bits) / 8 }, (_, i) => (i * 37) % 256), [n, k / 32, 16]);
      const scales = g.constFloat('s', Array.from({ length: (n * k) / 32 }, (_, i) => 0.01 * (i + 1)), [(n * k) / 32]);
      const inputs = [x, codes, scales];
      if (zeroPoints) inputs.push(g.op('Expand', [g.constUint8('zp', [0x88]), g.constInt64('shape', [n, 1])]));
      g.output(g.op('MatMulNBits', inputs, { K: attr.int(k), N: attr.int(n), bits: attr.int(bits), block_size: attr.int(32) }, { domain: 'com.microsoft' }), 'y', DataType.FLOAT, [1, n]);
      return g.encode({ '': 21, 'com.microsoft': 1 });
    };
    const x = await floatTensor(Float32Array.from({ length: k }, (_, i) => Math.sin(i)), [1, k]);
    const result = async (zeroPoints: boolean) => {
      const s = await createSession(build(zeroPoints), { externalDataFolder: tmpdir(), intraOpThreads: 1 });
      try {
        return [...outputFloats(await run(s, 'nbits', { x }), 'y')];
      } finally {
        await s.release();
      }
    };
    expect(await result(true)).toEqual(await result(false));
  });
});
