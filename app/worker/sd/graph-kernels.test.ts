// Nothing the GPU providers run falls back to the CPU, for the Stable Diffusion family: the full-size
// SDXL-Turbo graphs (skeletons of the official fp16 and float32 files) and SD-Turbo graphs (its official
// configs, sparse float16 weights; test-support/sd-skeleton), built as the runner builds them (sd-components,
// sd-precision): both CLIP text encoders, the UNet plain and with a fixed LoRA (linear and convolution side
// branches) and a style slot, the VAE decoder and encoder, for CUDA bf16 (weights stored in float16, which run
// in float16, and in float32, which run in bfloat16), CUDA fp16, DirectML fp16 and float32 on both (the
// non-finite fallback), and the SDXL VAE's float32 upcast; walked node by node against the kernels ONNX Runtime
// registers per provider (onnx/provider-kernels.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../../shared/model-families.js';
import type { Precision } from '../../shared/precision.js';
import { analyzeGraph } from '../onnx/graph-analysis.js';
import { unregisteredKernels, type KernelProblem } from '../onnx/graph-kernels.js';
import { attr, GraphBuilder } from '../onnx/graph-builder.js';
import { DataType, type GraphProto } from '../onnx/onnx-model.js';
import type { LoraModule, LoraWeights } from '../lora/lora-weights.js';
import { writeSkeleton } from '../safetensors/skeleton.js';
import { sdTurboSkeleton, sdxlTurboSkeleton } from '../test-support/sd-skeleton.js';
import { openWeightSet, type WeightRef, type WeightSet } from '../safetensors/weight-set.js';
import { decoderGraph, encoderGraph, type AutoencoderConfig } from './autoencoder-kl.js';
import type { ClipTextConfig } from './clip-text-config.js';
import { clipTextGraph } from './clip-text-graph.js';
import { clipUses, openSdWeights } from './sd-components.js';
import { SD_STYLE_SLOT_RANK } from './sd-runner.js';
import { sdModelPrecision, sdVaePrecision } from './sd-precision.js';
import type { UnetConfig } from './unet-config.js';
import { unetGraph, unetStyleTargets } from './unet-graph.js';

type Target = 'cuda' | 'dml';

interface Model {
  readonly xl: boolean;
  readonly width: number;
  readonly height: number;
  readonly te: { weights: WeightSet; config: ClipTextConfig };
  readonly te2?: { weights: WeightSet; config: ClipTextConfig };
  readonly unet: { weights: WeightSet; config: UnetConfig };
  readonly vae: { weights: WeightSet; config: AutoencoderConfig };
  /** A LoRA file's modules (float16, as trainers save them) on a few linears and convolutions of each part. */
  readonly lora: { unet: LoraWeights; te: LoraWeights; te2?: LoraWeights };
}

/** A sparse float16 LoRA on `targets` ([name, out, in, kernel]) written under `dir`: refs only, the graphs name them. */
async function loraOn(dir: string, component: string, targets: readonly (readonly [string, number, number, number])[]): Promise<LoraWeights> {
  const rank = 8;
  const tensors = targets.flatMap(([name, out, inF, k]) => [
    { name: `${name}.lora_down.weight`, dtype: 'F16', shape: k === 0 ? [rank, inF] : [rank, inF, k, k] },
    { name: `${name}.lora_up.weight`, dtype: 'F16', shape: k === 0 ? [out, rank] : [out, rank, 1, 1] },
  ]);
  const folder = await writeSkeleton({ component, file_metadata: { format: 'pt' }, shards: [{ file: 'lora.safetensors', tensors }] }, dir);
  const set = await openWeightSet(folder, ['lora'], dir, `${component} LoRA`);
  const ref = (n: string): WeightRef => set.get(n);
  const modules = new Map<string, LoraModule>(targets.map(([name]) => [name, { target: name, down: ref(`${name}.lora_down.weight`), up: ref(`${name}.lora_up.weight`), rank, alpha: rank / 2 }]));
  return { file: join(folder, 'lora.safetensors'), format: 'kohya', modules, metadata: {} };
}

/** LoRA targets of a UNet: the first spatial transformer's attention and feed-forward linears, and convolutions of each kind. */
function unetLoraTargets(cfg: UnetConfig): [string, number, number, number][] {
  const styled = [...unetStyleTargets(cfg)].slice(0, 10).map(([name, [out, inF]]): [string, number, number, number] => [name, out, inF, 0]);
  const c0 = cfg.blockOut[0]!;
  return [...styled, ['conv_in', c0, cfg.inChannels, 3], ['down_blocks.0.resnets.0.conv1', cfg.down[0]!.out, c0, 3], ['down_blocks.0.downsamplers.0.conv', cfg.down[0]!.out, cfg.down[0]!.out, 3]];
}

function textLoraTargets(cfg: ClipTextConfig): [string, number, number, number][] {
  const l = 'text_model.encoder.layers.0';
  return [[`${l}.self_attn.q_proj`, cfg.hidden, cfg.hidden, 0], [`${l}.self_attn.out_proj`, cfg.hidden, cfg.hidden, 0], [`${l}.mlp.fc1`, cfg.intermediate, cfg.hidden, 0], [`${l}.mlp.fc2`, cfg.hidden, cfg.intermediate, 0]];
}

async function withLoras(root: string, m: Omit<Model, 'lora'>): Promise<Model> {
  const dir = join(root, 'loras');
  const lora = {
    unet: await loraOn(dir, 'unet', unetLoraTargets(m.unet.config)),
    te: await loraOn(dir, 'te', textLoraTargets(m.te.config)),
    ...(m.te2 ? { te2: await loraOn(dir, 'te2', textLoraTargets(m.te2.config)) } : {}),
  };
  return { ...m, lora };
}

/** A full-size folder's components as the runner opens them (sd-components), at the planned image size. */
async function model(root: string, dir: string, xl: boolean, size: { width: number; height: number }): Promise<Model> {
  const opened = await openSdWeights({ textEncoder: join(dir, 'text_encoder'), ...(xl ? { textEncoder2: join(dir, 'text_encoder_2') } : {}), unet: join(dir, 'unet'), vae: join(dir, 'vae'), root: dir });
  return withLoras(root, { xl, ...size, te: opened.te, ...(opened.te2 ? { te2: opened.te2 } : {}), unet: { weights: opened.unetWeights, config: opened.unetConfig }, vae: opened.vae });
}

/** Every graph a job builds for this provider under the plan's precision, with its input shapes. */
function graphs(m: Model, plan: Precision, target: Target): [string, GraphProto, Record<string, number[]>][] {
  const tokens = m.te.config.positions;
  const ids = { input_ids: [1, tokens] };
  const uses = clipUses(m.xl, m.te.config.layers, m.te2?.config.layers);
  const p = (weights: WeightSet) => ({ precision: sdModelPrecision(plan, weights), target });
  const ucfg = m.unet.config;
  const scale = 2 ** (m.vae.config.blockOut.length - 1);
  const [h, w] = [m.height / scale, m.width / scale];
  const unetInputs: Record<string, number[]> = {
    sample: [1, ucfg.inChannels, h, w],
    timestep: [1],
    encoder_hidden_states: [1, tokens, ucfg.crossAttentionDim],
    ...(ucfg.addTime ? { text_embeds: [1, ucfg.addTime.textEmbedDim], time_ids: [1, 6] } : {}),
    ...(ucfg.timeCondProjDim ? { timestep_cond: [1, ucfg.timeCondProjDim] } : {}),
  };
  const vaePrecision = { precision: sdVaePrecision(plan, m.vae.config, m.xl), target };
  const out: [string, GraphProto, Record<string, number[]>][] = [
    ['text encoder', clipTextGraph(m.te.weights, m.te.config, uses.first, p(m.te.weights)).graph(), ids],
    ['text encoder + LoRA', clipTextGraph(m.te.weights, m.te.config, { ...uses.first, loras: [m.lora.te] }, p(m.te.weights)).graph(), ids],
    ['UNet', unetGraph(m.unet.weights, ucfg, p(m.unet.weights)).graph(), unetInputs],
    [
      'UNet + LoRA + style slot',
      unetGraph(m.unet.weights, ucfg, { ...p(m.unet.weights), loras: [m.lora.unet], styleSlots: { count: 1, rank: SD_STYLE_SLOT_RANK, targets: unetStyleTargets(ucfg) } }).graph(),
      unetInputs,
    ],
    [`VAE decoder (${vaePrecision.precision})`, decoderGraph(m.vae.weights, m.vae.config, vaePrecision).graph(), { z: [1, m.vae.config.latentChannels, h, w] }],
    [`VAE encoder (${vaePrecision.precision})`, encoderGraph(m.vae.weights, m.vae.config, vaePrecision).graph(), { image: [1, m.vae.config.inChannels, m.height, m.width] }],
  ];
  if (m.te2 && uses.second) {
    out.push(['text encoder 2', clipTextGraph(m.te2.weights, m.te2.config, uses.second, p(m.te2.weights)).graph(), ids]);
    out.push(['text encoder 2 + LoRA', clipTextGraph(m.te2.weights, m.te2.config, { ...uses.second, loras: [m.lora.te2!] }, p(m.te2.weights)).graph(), ids]);
  }
  return out;
}

const check = (m: Model, plan: Precision, target: Target): Record<string, KernelProblem[]> =>
  Object.fromEntries(graphs(m, plan, target).map(([name, g, inputs]) => [name, unregisteredKernels(analyzeGraph(g, inputs), target)]));

/** The problems of every graph, named by graph (an empty list when every node has its kernel). */
const problems = (m: Model, plan: Precision, target: Target) => Object.entries(check(m, plan, target)).flatMap(([graph, list]) => list.map((p) => `${graph}: ${p.op} ${p.types}: ${p.reason}`));

describe('the full-size SD graphs against the kernels each GPU provider registers', () => {
  const root = mkdtempSync(join(tmpdir(), 'sd-kernels-'));
  let xl16: Model;
  let xl32: Model;
  let turbo: Model;
  beforeAll(async () => {
    // SDXL at the largest size the family offers (its own 1024x1024), SD-Turbo at its default (512x512).
    const largest = Math.max(...FAMILIES['sdxl-turbo'].sizes.map((s) => Math.max(s.width, s.height)));
    const xlSize = { width: largest, height: largest };
    xl16 = await model(root, await sdxlTurboSkeleton(join(root, 'sdxl-fp16'), 'fp16'), true, xlSize);
    xl32 = await model(root, await sdxlTurboSkeleton(join(root, 'sdxl-f32'), 'f32'), true, xlSize);
    const d = FAMILIES['sd-turbo'].defaults;
    turbo = await model(root, await sdTurboSkeleton(join(root, 'sd-turbo')), false, { width: d.width, height: d.height });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('builds every component, the SDXL VAE in float32 (its upcast) and SD-Turbo\'s in float16', () => {
    expect(Object.keys(check(xl16, 'bf16', 'cuda'))).toEqual(['text encoder', 'text encoder + LoRA', 'UNet', 'UNet + LoRA + style slot', 'VAE decoder (f32)', 'VAE encoder (f32)', 'text encoder 2', 'text encoder 2 + LoRA']);
    expect(Object.keys(check(turbo, 'fp16', 'dml'))).toEqual(['text encoder', 'text encoder + LoRA', 'UNet', 'UNet + LoRA + style slot', 'VAE decoder (fp16)', 'VAE encoder (fp16)']);
  });

  it('reads what it checks from the files: float16 and float32 SDXL weights, and the precisions the plans give them', () => {
    expect(xl16.unet.weights.get('conv_in.weight').dtype).toBe('F16');
    expect(xl32.unet.weights.get('conv_in.weight').dtype).toBe('F32');
    // Under a bf16 plan float16 weights run in float16 and float32 ones in bfloat16; the SDXL VAE upcasts.
    expect(sdModelPrecision('bf16', xl16.unet.weights)).toBe('fp16');
    expect(sdModelPrecision('bf16', xl32.unet.weights)).toBe('bf16');
    expect(sdModelPrecision('bf16', xl32.te2!.weights)).toBe('bf16');
    expect(sdVaePrecision('bf16', xl16.vae.config, true)).toBe('f32');
    expect(sdVaePrecision('fp16', turbo.vae.config, false)).toBe('fp16');
    // SD-Turbo's UNet skeleton holds the published parameter count of the SD 2.x UNet.
    const params = turbo.unet.weights.names().reduce((s, n) => s + turbo.unet.weights.get(n).shape.reduce((a, b) => a * b, 1), 0);
    expect(params).toBe(865_910_724);
  });

  for (const [label, plan, target] of [
    ['CUDA, bf16', 'bf16', 'cuda'],
    ['CUDA, fp16', 'fp16', 'cuda'],
    ['DirectML, fp16', 'fp16', 'dml'],
    // What a component that gave non-finite values is reopened in (sd-pipeline's guard).
    ['CUDA, f32', 'f32', 'cuda'],
    ['DirectML, f32', 'f32', 'dml'],
  ] as const) {
    it(`${label}: SDXL-Turbo (fp16 files) has a kernel for every node`, () => expect(problems(xl16, plan, target)).toEqual([]));
    it(`${label}: SDXL-Turbo (float32 files) has a kernel for every node`, () => expect(problems(xl32, plan, target)).toEqual([]));
    it(`${label}: SD-Turbo has a kernel for every node`, () => expect(problems(turbo, plan, target)).toEqual([]));
  }

  it('finds the pairs a provider lacks in SD graphs: bfloat16 graphs on DirectML', () => {
    // float32 weights under a bf16 plan compute in bfloat16: DirectML has no bfloat16 kernel for their matmuls,
    // norms or activations (the SDXL VAE upcasts to float32, so it alone passes).
    const found = check(xl32, 'bf16', 'dml');
    const reasons = (graph: string) => found[graph]!.map((p) => p.reason);
    expect(reasons('UNet')).toEqual(expect.arrayContaining(['dml registers :MatMul for f32, f16, not bf16', 'dml registers :LayerNormalization for f32, f16, not bf16', 'dml registers com.microsoft:Gelu for f32, f16, not bf16']));
    expect(reasons('UNet + LoRA + style slot')).toContain('dml registers com.microsoft:FusedMatMul for f32, f16, not bf16');
    expect(reasons('text encoder 2')).toContain('dml registers :MatMul for f32, f16, not bf16');
    expect(found['VAE decoder (f32)']).toEqual([]);
  });

  it("knows why GroupNorm stays in float32: CUDA's InstanceNormalization has no bfloat16 kernel", () => {
    const g = new GraphBuilder('group_norm');
    const x = g.input('x', DataType.BFLOAT16, [1, 32, 4096]);
    const ones = g.op('Cast', [g.constFloat('ones', new Float32Array(32).fill(1), [32])], { to: attr.int(DataType.BFLOAT16) });
    const zeros = g.op('Cast', [g.constFloat('zeros', new Float32Array(32), [32])], { to: attr.int(DataType.BFLOAT16) });
    g.output(g.op('InstanceNormalization', [x, ones, zeros], { epsilon: attr.float(1e-5) }), 'y', DataType.BFLOAT16, [1, 32, 4096]);
    const reasons = unregisteredKernels(analyzeGraph(g.graph(), {}), 'cuda').map((p) => p.reason);
    expect(reasons).toEqual(['cuda registers :InstanceNormalization for f32, f16, f64, not bf16']);
  });
});
