// The Qwen-Image MMDiT as ONNX graphs: dual-stream blocks with joint attention, AdaLN modulation, per-head
// QK RMSNorm and 3-axis RoPE; weights stay in the checkpoint's safetensors files.
//
// The AdaLN modulation (every block's img_mod / txt_mod linears, about a third of the parameters, and the
// timestep embedding they read) depends on the timestep alone. It is its own graph (buildModulationGraph),
// run once per schedule timestep; the transformer graph takes its result as inputs, so those weights are
// never loaded with the blocks.
//
// Transformer inputs: hidden_states [B, S_img, in], encoder_hidden_states [B, S_txt, joint], per block i
// `mod.i` [B, 12 * dim] (image shift1, scale1, gate1, shift2, scale2, gate2, then the same for text),
// `mod.out` [B, 2 * dim] (norm_out's scale, shift), and the RoPE tables img_cos/img_sin [S_img, D/2],
// txt_cos/txt_sin [S_txt, D/2]. Output: sample [B, S_img, in]. Text is never padded: a batch with
// prompts of different lengths runs item by item (see transformer-model), so no graph needs a mask.

import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import { dirname } from 'node:path';
import type { LoraWeights } from '../lora/lora-weights.js';
import { commonRoot, type WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, ModelGraph, type GraphPrecision } from './graph-ops.js';
import type { TransformerConfig } from './transformer-config.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';

const EPS = 1e-6;
const TIME_CHANNELS = 256;

/**
 * fp16 overflow care: the attention output projections and the MLP down-projections of both streams see
 * inputs whose products exceed float16's 65504 in Qwen-Image's later blocks. Their inputs are scaled by
 * these factors before the matmul and the float32 results scaled back (the factors stable-diffusion.cpp
 * uses for this model; powers of two, so the scaling itself is exact).
 */
export const ATTENTION_OUT_SCALE = 1 / 32;
export const MLP_DOWN_SCALE = 1 / 128;

/** x * (1 + scale) + shift on a stream value, where the [B, dim] chunks are broadcast over the sequence. */
function modulate(g: ModelGraph, x: string, shift: string, scale: string): string {
  const s = g.op('Unsqueeze', [scale, g.ints([1])]);
  const t = g.op('Unsqueeze', [shift, g.ints([1])]);
  return g.op('Add', [g.op('Mul', [x, g.op('Add', [s, g.scalar(1, g.streamType)])]), t]);
}

function chunks(g: ModelGraph, x: string, n: number): string[] {
  return g.opN('Split', [x], n, { axis: attr.int(-1), num_outputs: attr.int(n) });
}

interface Rope {
  readonly imgCos: string;
  readonly imgSin: string;
  readonly txtCos: string;
  readonly txtSin: string;
  readonly start: string;
}

function block(g: ModelGraph, i: number, img: string, txt: string, rope: Rope, cfg: TransformerConfig): { img: string; txt: string } {
  const dim = cfg.numHeads * cfg.headDim;
  const p = `transformer_blocks.${i}`;
  const mod = g.fromInput(g.input(`mod.${i}`, DataType.FLOAT, ['batch', 12 * dim]));
  const [iShift1, iScale1, iGate1, iShift2, iScale2, iGate2, tShift1, tScale1, tGate1, tShift2, tScale2, tGate2] = chunks(g, mod, 12) as [
    string, string, string, string, string, string, string, string, string, string, string, string,
  ];
  const imgIn = g.toCompute(modulate(g, g.layerNorm(img, dim, EPS), iShift1, iScale1));
  const txtIn = g.toCompute(modulate(g, g.layerNorm(txt, dim, EPS), tShift1, tScale1));

  // Per-head RMSNorm on [B, S, H, D] (accumulating in float32), then RoPE on [B, S, H * D].
  const qkNorm = (x: string, w: string) =>
    g.op('Reshape', [g.rmsNorm(g.op('Reshape', [x, g.ints([0, 0, cfg.numHeads, cfg.headDim])]), `${p}.attn.${w}.weight`, cfg.headDim, EPS, g.computeType), g.ints([0, 0, dim])]);
  const rotate = (x: string, cos: string, sin: string) => g.rotary(x, rope.start, cos, sin, cfg.numHeads, true);
  const imgQ = rotate(qkNorm(g.dense(imgIn, `${p}.attn.to_q`, dim, dim), 'norm_q'), rope.imgCos, rope.imgSin);
  const imgK = rotate(qkNorm(g.dense(imgIn, `${p}.attn.to_k`, dim, dim), 'norm_k'), rope.imgCos, rope.imgSin);
  const imgV = g.dense(imgIn, `${p}.attn.to_v`, dim, dim);
  const txtQ = rotate(qkNorm(g.dense(txtIn, `${p}.attn.add_q_proj`, dim, dim), 'norm_added_q'), rope.txtCos, rope.txtSin);
  const txtK = rotate(qkNorm(g.dense(txtIn, `${p}.attn.add_k_proj`, dim, dim), 'norm_added_k'), rope.txtCos, rope.txtSin);
  const txtV = g.dense(txtIn, `${p}.attn.add_v_proj`, dim, dim);

  // Joint attention over [text, image].
  const joint = (a: string, b: string) => g.op('Concat', [a, b], { axis: attr.int(1) });
  const attended = g.fusedAttention(joint(txtQ, imgQ), joint(txtK, imgK), joint(txtV, imgV), cfg.numHeads, cfg.headDim);
  const lengths = g.op('Concat', [g.op('Shape', [txt], { start: attr.int(1), end: attr.int(2) }), g.op('Shape', [img], { start: attr.int(1), end: attr.int(2) })], { axis: attr.int(0) });
  const [txtAttn, imgAttn] = g.opN('Split', [attended, lengths], 2, { axis: attr.int(1) });

  const gated = (x: string, gate: string, y: string) => g.op('Add', [x, g.op('Mul', [g.op('Unsqueeze', [gate, g.ints([1])]), y])]);
  const out = { toStream: true, inputScale: ATTENTION_OUT_SCALE };
  let imgOut = gated(img, iGate1, g.dense(imgAttn!, `${p}.attn.to_out.0`, dim, dim, out));
  let txtOut = gated(txt, tGate1, g.dense(txtAttn!, `${p}.attn.to_add_out`, dim, dim, out));

  const mlp = (x: string, name: string) =>
    g.dense(g.geluTanh(g.dense(g.toCompute(x), `${p}.${name}.net.0.proj`, dim, 4 * dim)), `${p}.${name}.net.2`, 4 * dim, dim, { toStream: true, inputScale: MLP_DOWN_SCALE });
  imgOut = gated(imgOut, iGate2, mlp(modulate(g, g.layerNorm(imgOut, dim, EPS), iShift2, iScale2), 'img_mlp'));
  txtOut = gated(txtOut, tGate2, mlp(modulate(g, g.layerNorm(txtOut, dim, EPS), tShift2, tScale2), 'txt_mlp'));
  return { img: imgOut, txt: txtOut };
}

/** Sinusoidal timestep features exactly as diffusers' Timesteps(256, flip_sin_to_cos, shift 0, scale 1000). */
function timestepFeatures(g: ModelGraph, timestep: string): string {
  const half = TIME_CHANNELS / 2;
  const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const t = g.op('Mul', [g.op('Unsqueeze', [timestep, g.ints([1])]), g.constFloat('time_freqs', freqs, [1, half])]);
  const scaled = g.op('Mul', [t, g.scalar(1000)]);
  return g.op('Concat', [g.op('Cos', [scaled]), g.op('Sin', [scaled])], { axis: attr.int(-1) });
}

/** The folder a transformer session reads weights under: holds the checkpoint and every LoRA file. */
export function transformerRoot(weights: WeightSet, loras: readonly LoraWeights[], quantized?: QuantizedLinears): string {
  return commonRoot([weights.root, ...loras.map((l) => dirname(l.file)), ...(quantized ? [quantized.dir] : [])]);
}

/** The linear layers of the blocks that style slots cover: what style LoRAs for Qwen-Image patch. */
export function styleTargets(cfg: TransformerConfig): Map<string, readonly [number, number]> {
  const dim = cfg.numHeads * cfg.headDim;
  const targets = new Map<string, readonly [number, number]>();
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `transformer_blocks.${i}`;
    for (const m of ['to_q', 'to_k', 'to_v', 'to_out.0', 'add_q_proj', 'add_k_proj', 'add_v_proj', 'to_add_out']) targets.set(`${p}.attn.${m}`, [dim, dim]);
    for (const s of ['img', 'txt']) {
      targets.set(`${p}.${s}_mlp.net.0.proj`, [4 * dim, dim]);
      targets.set(`${p}.${s}_mlp.net.2`, [dim, 4 * dim]);
    }
  }
  return targets;
}

/** Whether a module belongs to the modulation graph (timestep embedding, AdaLN linears, norm_out's linear). */
export function isModulationModule(name: string): boolean {
  return name.startsWith('time_text_embed.') || /^transformer_blocks\.\d+\.(img_mod|txt_mod)\./.test(name) || name.startsWith('norm_out.');
}

/**
 * Which part of the transformer a graph holds. Streaming plans split it at block boundaries: the front (the
 * input projections and the blocks kept loaded, `to` of them, in one session) and the tail (norm_out,
 * proj_out) stay loaded, and the other blocks run as groups, each its own session, loaded and released in
 * turn. One front session rather than one per kept group: every session keeps its own allocator arena at
 * its activation peak, so the sessions alive at once are few. Every part computes exactly what the same
 * nodes compute in the whole graph.
 */
export type TransformerPart =
  | { readonly kind: 'whole' }
  | { readonly kind: 'front'; readonly to: number }
  | { readonly kind: 'blocks'; readonly from: number; readonly to: number }
  | { readonly kind: 'tail' };

export interface TransformerGraphOptions extends GraphPrecision {
  /** Fixed LoRAs (the speed LoRA): side branches whose weights stay in their files; LoRA k's strength is lora_scale_k. */
  readonly loras?: readonly LoraWeights[];
  /** Style slots: LoRA matrices fed as inputs, so styles switch without a new session. */
  readonly styleSlots?: { readonly count: number; readonly rank: number };
  /** Block linears stored as MatMulNBits weights (see quant/quantized-weights). */
  readonly quantized?: QuantizedLinears;
  readonly part?: TransformerPart;
}

/** Names of the activations passed between the parts of a split transformer. */
export const PART_IO = { img: 'img', txt: 'txt', imgNext: 'img_next', txtNext: 'txt_next' } as const;

/** LoRA k's strength input is lora_scale_k in every graph; a graph declares the LoRAs with a module it holds. */
function declareLoras(g: ModelGraph, loras: readonly LoraWeights[], holds: (module: string) => boolean): void {
  loras.forEach((l, k) => {
    if ([...l.modules.keys()].some(holds)) g.addLora(l, `lora_scale_${k}`);
  });
}

export function buildTransformerGraph(weights: WeightSet, cfg: TransformerConfig, options: TransformerGraphOptions = {}): Uint8Array {
  return transformerGraph(weights, cfg, options).encode(ENGINE_OPSETS);
}

/** The transformer (or one part of it) as a graph builder: what buildTransformerGraph encodes and graph-analysis reads. */
export function transformerGraph(weights: WeightSet, cfg: TransformerConfig, options: TransformerGraphOptions = {}): ModelGraph {
  const loras = options.loras ?? [];
  const part = options.part ?? { kind: 'whole' };
  const g = new ModelGraph('qwen_image_transformer', weights, transformerRoot(weights, loras, options.quantized), options.quantized, options);
  declareLoras(g, loras, (m) => !isModulationModule(m));
  if (options.styleSlots && options.styleSlots.count > 0) g.addStyleSlots({ ...options.styleSlots, targets: styleTargets(cfg) });
  const dim = cfg.numHeads * cfg.headDim;
  const half = cfg.headDim / 2;
  const withHead = part.kind === 'whole' || part.kind === 'front';
  const withTail = part.kind === 'whole' || part.kind === 'tail';
  const [from, to] = part.kind === 'blocks' ? [part.from, part.to] : part.kind === 'whole' ? [0, cfg.numLayers] : part.kind === 'front' ? [0, part.to] : [0, 0];
  if (from < 0 || to > cfg.numLayers || from > to) throw new RangeError(`blocks ${from}..${to} are not within 0..${cfg.numLayers}`);
  const stream = g.streamType;

  let img: string;
  let txt: string;
  if (withHead) {
    const hidden = g.input('hidden_states', DataType.FLOAT, ['batch', 'image_tokens', cfg.inChannels]);
    const encoder = g.fromInput(g.input('encoder_hidden_states', DataType.FLOAT, ['batch', 'text_tokens', cfg.jointAttentionDim]));
    img = g.dense(g.toCompute(hidden, DataType.FLOAT), 'img_in', cfg.inChannels, dim, { toStream: true });
    txt = g.dense(g.toCompute(g.rmsNorm(encoder, 'txt_norm.weight', cfg.jointAttentionDim, EPS)), 'txt_in', cfg.jointAttentionDim, dim, { toStream: true });
  } else {
    img = g.fromInput(g.input(PART_IO.img, DataType.FLOAT, ['batch', 'image_tokens', dim]));
    txt = part.kind === 'blocks' ? g.fromInput(g.input(PART_IO.txt, DataType.FLOAT, ['batch', 'text_tokens', dim])) : '';
  }
  if (to > from) {
    const table = (name: string, rows: string) => g.toCompute(g.input(name, DataType.FLOAT, [rows, half]), DataType.FLOAT);
    const rope = {
      imgCos: table('img_cos', 'image_tokens'),
      imgSin: table('img_sin', 'image_tokens'),
      txtCos: table('txt_cos', 'text_tokens'),
      txtSin: table('txt_sin', 'text_tokens'),
      start: g.ints([0]),
    };
    for (let i = from; i < to; i++) ({ img, txt } = block(g, i, img, txt, rope, cfg));
  }
  if (!withTail) {
    const [imgName, txtName] = part.kind === 'front' ? [PART_IO.img, PART_IO.txt] : [PART_IO.imgNext, PART_IO.txtNext];
    g.output(g.toOutput(img), imgName, DataType.FLOAT, ['batch', 'image_tokens', dim]);
    g.output(g.toOutput(txt), txtName, DataType.FLOAT, ['batch', 'text_tokens', dim]);
    return g;
  }
  // norm_out splits its modulation as (scale, shift): the reverse of the blocks.
  const [scale, shift] = chunks(g, g.fromInput(g.input('mod.out', DataType.FLOAT, ['batch', 2 * dim])), 2) as [string, string];
  const out = g.dense(g.toCompute(modulate(g, g.layerNorm(img, dim, EPS), shift, scale)), 'proj_out', dim, cfg.inChannels, { toStream: true });
  g.output(g.cast(out, stream, DataType.FLOAT), 'sample', DataType.FLOAT, ['batch', 'image_tokens', cfg.inChannels]);
  return g;
}

export interface ModulationGraphOptions {
  readonly loras?: readonly LoraWeights[];
  /** Blocks [from, to) whose modulation this graph computes. */
  readonly blocks: readonly [number, number];
  /** Also norm_out's modulation (`mod.out`). */
  readonly withOut: boolean;
}

/**
 * The AdaLN modulation for a batch of timesteps, in float32: timestep [N] (sigma) -> `mod.i` [N, 12 * dim]
 * for the blocks asked for, and `mod.out` [N, 2 * dim]. The timestep embedding (two small linears) is
 * recomputed by every group: cheaper than passing it between sessions.
 */
export function buildModulationGraph(weights: WeightSet, cfg: TransformerConfig, options: ModulationGraphOptions): Uint8Array {
  return modulationGraph(weights, cfg, options).encode(ENGINE_OPSETS);
}

export function modulationGraph(weights: WeightSet, cfg: TransformerConfig, options: ModulationGraphOptions): ModelGraph {
  const loras = options.loras ?? [];
  const g = new ModelGraph('qwen_image_modulation', weights, transformerRoot(weights, loras));
  declareLoras(g, loras, isModulationModule);
  const dim = cfg.numHeads * cfg.headDim;
  const [from, to] = options.blocks;
  if (from < 0 || to > cfg.numLayers || from > to) throw new RangeError(`blocks ${from}..${to} are not within 0..${cfg.numLayers}`);
  const timestep = g.input('timestep', DataType.FLOAT, ['steps']);
  const temb = g.dense(
    g.silu(g.dense(timestepFeatures(g, timestep), 'time_text_embed.timestep_embedder.linear_1', TIME_CHANNELS, dim)),
    'time_text_embed.timestep_embedder.linear_2',
    dim,
    dim,
  );
  const tembAct = g.silu(temb);
  for (let i = from; i < to; i++) {
    const p = `transformer_blocks.${i}`;
    const both = g.op('Concat', [g.dense(tembAct, `${p}.img_mod.1`, dim, 6 * dim), g.dense(tembAct, `${p}.txt_mod.1`, dim, 6 * dim)], { axis: attr.int(-1) });
    g.output(both, `mod.${i}`, DataType.FLOAT, ['steps', 12 * dim]);
  }
  if (options.withOut) g.output(g.dense(tembAct, 'norm_out.linear', dim, 2 * dim), 'mod.out', DataType.FLOAT, ['steps', 2 * dim]);
  return g;
}
