// The Qwen-Image MMDiT as an ONNX graph: dual-stream blocks with joint attention, AdaLN modulation,
// per-head QK RMSNorm and 3-axis RoPE; weights stay in the checkpoint's safetensors files.
//
// Inputs: hidden_states [B, S_img, in], encoder_hidden_states [B, S_txt, joint], timestep [B] (sigma),
// attention_bias [B, 1, 1, S_txt + S_img] (0 or -inf for padded text), and the RoPE tables
// img_cos/img_sin [S_img, D/2], txt_cos/txt_sin [S_txt, D/2]. Output: sample [B, S_img, in].

import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import { dirname } from 'node:path';
import type { LoraWeights } from '../lora/lora-weights.js';
import { commonRoot, type WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, ModelGraph } from './graph-ops.js';
import type { TransformerConfig } from './transformer-config.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';

const EPS = 1e-6;
const TIME_CHANNELS = 256;

/** [B, S, H*D] -> [B, S, H, D/2, 2] rotated by the complex table -> [B, S, H*D] ... kept as [B, S, H, D]. */
function applyRope(g: ModelGraph, x: string, cos: string, sin: string, cfg: TransformerConfig): string {
  const pairs = g.op('Reshape', [x, g.ints([0, 0, cfg.numHeads, cfg.headDim / 2, 2])]);
  const [re, im] = g.opN('Split', [pairs, g.ints([1, 1])], 2, { axis: attr.int(-1) });
  const outRe = g.op('Sub', [g.op('Mul', [re!, cos]), g.op('Mul', [im!, sin])]);
  const outIm = g.op('Add', [g.op('Mul', [re!, sin]), g.op('Mul', [im!, cos])]);
  return g.op('Reshape', [g.op('Concat', [outRe, outIm], { axis: attr.int(-1) }), g.ints([0, 0, cfg.numHeads, cfg.headDim])]);
}

/** x * (1 + scale) + shift, where mod [B, dim] chunks are broadcast over the sequence. */
function modulate(g: ModelGraph, x: string, shift: string, scale: string): string {
  const s = g.op('Unsqueeze', [scale, g.ints([1])]);
  const t = g.op('Unsqueeze', [shift, g.ints([1])]);
  return g.op('Add', [g.op('Mul', [x, g.op('Add', [s, g.scalar(1)])]), t]);
}

function chunks(g: ModelGraph, x: string, n: number): string[] {
  return g.opN('Split', [x], n, { axis: attr.int(-1), num_outputs: attr.int(n) });
}

function block(
  g: ModelGraph,
  i: number,
  img: string,
  txt: string,
  tembAct: string,
  rope: { imgCos: string; imgSin: string; txtCos: string; txtSin: string },
  bias: string,
  cfg: TransformerConfig,
): { img: string; txt: string } {
  const dim = cfg.numHeads * cfg.headDim;
  const p = `transformer_blocks.${i}`;
  const imgMod = chunks(g, g.dense(tembAct, `${p}.img_mod.1`, dim, 6 * dim), 6);
  const txtMod = chunks(g, g.dense(tembAct, `${p}.txt_mod.1`, dim, 6 * dim), 6);
  const [iShift1, iScale1, iGate1, iShift2, iScale2, iGate2] = imgMod as [string, string, string, string, string, string];
  const [tShift1, tScale1, tGate1, tShift2, tScale2, tGate2] = txtMod as [string, string, string, string, string, string];

  const imgIn = modulate(g, g.layerNorm(img, dim, EPS), iShift1, iScale1);
  const txtIn = modulate(g, g.layerNorm(txt, dim, EPS), tShift1, tScale1);

  const heads = (x: string) => g.op('Reshape', [x, g.ints([0, 0, cfg.numHeads, cfg.headDim])]);
  const qkNorm = (x: string, w: string) => g.rmsNorm(heads(x), `${p}.attn.${w}.weight`, cfg.headDim, EPS);
  const imgQ = applyRope(g, qkNorm(g.dense(imgIn, `${p}.attn.to_q`, dim, dim), 'norm_q'), rope.imgCos, rope.imgSin, cfg);
  const imgK = applyRope(g, qkNorm(g.dense(imgIn, `${p}.attn.to_k`, dim, dim), 'norm_k'), rope.imgCos, rope.imgSin, cfg);
  const imgV = heads(g.dense(imgIn, `${p}.attn.to_v`, dim, dim));
  const txtQ = applyRope(g, qkNorm(g.dense(txtIn, `${p}.attn.add_q_proj`, dim, dim), 'norm_added_q'), rope.txtCos, rope.txtSin, cfg);
  const txtK = applyRope(g, qkNorm(g.dense(txtIn, `${p}.attn.add_k_proj`, dim, dim), 'norm_added_k'), rope.txtCos, rope.txtSin, cfg);
  const txtV = heads(g.dense(txtIn, `${p}.attn.add_v_proj`, dim, dim));

  // Joint attention over [text, image]; heads first for the matmuls.
  const toBhsd = (x: string) => g.op('Transpose', [x], { perm: attr.ints([0, 2, 1, 3]) });
  const q = toBhsd(g.op('Concat', [txtQ, imgQ], { axis: attr.int(1) }));
  const k = toBhsd(g.op('Concat', [txtK, imgK], { axis: attr.int(1) }));
  const v = toBhsd(g.op('Concat', [txtV, imgV], { axis: attr.int(1) }));
  const joint = g.op('Transpose', [g.attention(q, k, v, cfg.headDim, bias)], { perm: attr.ints([0, 2, 1, 3]) });
  const flat = g.op('Reshape', [joint, g.ints([0, 0, dim])]);
  const txtLen = g.op('Shape', [txt], { start: attr.int(1), end: attr.int(2) });
  const [txtAttn, imgAttn] = g.opN('Split', [flat, g.op('Concat', [txtLen, g.op('Shape', [img], { start: attr.int(1), end: attr.int(2) })], { axis: attr.int(0) })], 2, {
    axis: attr.int(1),
  });

  const gated = (x: string, gate: string, y: string) => g.op('Add', [x, g.op('Mul', [g.op('Unsqueeze', [gate, g.ints([1])]), y])]);
  let imgOut = gated(img, iGate1, g.dense(imgAttn!, `${p}.attn.to_out.0`, dim, dim));
  let txtOut = gated(txt, tGate1, g.dense(txtAttn!, `${p}.attn.to_add_out`, dim, dim));

  const mlp = (x: string, name: string) => g.dense(g.geluTanh(g.dense(x, `${p}.${name}.net.0.proj`, dim, 4 * dim)), `${p}.${name}.net.2`, 4 * dim, dim);
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

/**
 * Which part of the transformer a graph holds. Streaming plans split it at block boundaries: the head
 * (input projections and the timestep embedding) and the tail (norm_out, proj_out) stay loaded, and the
 * blocks run as groups, each its own session, loaded and released in turn. Every part computes exactly what
 * the same nodes compute in the whole graph.
 */
export type TransformerPart = { readonly kind: 'whole' } | { readonly kind: 'head' } | { readonly kind: 'blocks'; readonly from: number; readonly to: number } | { readonly kind: 'tail' };

export interface TransformerGraphOptions {
  /** Fixed LoRAs (the speed LoRA): side branches whose weights stay in their files; LoRA k's strength is lora_scale_k. */
  readonly loras?: readonly LoraWeights[];
  /** Style slots: LoRA matrices fed as inputs, so styles switch without a new session. */
  readonly styleSlots?: { readonly count: number; readonly rank: number };
  /** Block linears stored as MatMulNBits weights (see quant/quantized-weights). */
  readonly quantized?: QuantizedLinears;
  readonly part?: TransformerPart;
}

/** Names of the activations passed between the parts of a split transformer. */
export const PART_IO = { img: 'img', txt: 'txt', temb: 'temb', imgNext: 'img_next', txtNext: 'txt_next' } as const;

export function buildTransformerGraph(weights: WeightSet, cfg: TransformerConfig, options: TransformerGraphOptions = {}): Uint8Array {
  const loras = options.loras ?? [];
  const part = options.part ?? { kind: 'whole' };
  const g = new ModelGraph('qwen_image_transformer', weights, transformerRoot(weights, loras, options.quantized), options.quantized);
  loras.forEach((l, k) => g.addLora(l, `lora_scale_${k}`));
  if (options.styleSlots && options.styleSlots.count > 0) g.addStyleSlots({ ...options.styleSlots, targets: styleTargets(cfg) });
  const dim = cfg.numHeads * cfg.headDim;
  const half = cfg.headDim / 2;
  const withHead = part.kind === 'whole' || part.kind === 'head';
  const withTail = part.kind === 'whole' || part.kind === 'tail';
  const [from, to] = part.kind === 'blocks' ? [part.from, part.to] : part.kind === 'whole' ? [0, cfg.numLayers] : [0, 0];
  if (from < 0 || to > cfg.numLayers || from > to) throw new RangeError(`blocks ${from}..${to} are not within 0..${cfg.numLayers}`);

  let img: string;
  let txt: string;
  let tembAct: string;
  if (withHead) {
    const hidden = g.input('hidden_states', DataType.FLOAT, ['batch', 'image_tokens', cfg.inChannels]);
    const encoder = g.input('encoder_hidden_states', DataType.FLOAT, ['batch', 'text_tokens', cfg.jointAttentionDim]);
    const timestep = g.input('timestep', DataType.FLOAT, ['batch']);
    img = g.dense(hidden, 'img_in', cfg.inChannels, dim);
    txt = g.dense(g.rmsNorm(encoder, 'txt_norm.weight', cfg.jointAttentionDim, EPS), 'txt_in', cfg.jointAttentionDim, dim);
    const temb = g.dense(
      g.silu(g.dense(timestepFeatures(g, timestep), 'time_text_embed.timestep_embedder.linear_1', TIME_CHANNELS, dim)),
      'time_text_embed.timestep_embedder.linear_2',
      dim,
      dim,
    );
    tembAct = g.silu(temb);
  } else {
    img = g.input(PART_IO.img, DataType.FLOAT, ['batch', 'image_tokens', dim]);
    tembAct = g.input(PART_IO.temb, DataType.FLOAT, ['batch', dim]);
    txt = part.kind === 'blocks' ? g.input(PART_IO.txt, DataType.FLOAT, ['batch', 'text_tokens', dim]) : '';
  }
  if (to > from) {
    const bias = g.input('attention_bias', DataType.FLOAT, ['batch', 1, 1, 'joint_tokens']);
    const ropeShape = g.ints([1, -1, 1, half, 1]);
    const ropeIn = (name: string, rows: string) => g.op('Reshape', [g.input(name, DataType.FLOAT, [rows, half]), ropeShape]);
    const rope = {
      imgCos: ropeIn('img_cos', 'image_tokens'),
      imgSin: ropeIn('img_sin', 'image_tokens'),
      txtCos: ropeIn('txt_cos', 'text_tokens'),
      txtSin: ropeIn('txt_sin', 'text_tokens'),
    };
    for (let i = from; i < to; i++) ({ img, txt } = block(g, i, img, txt, tembAct, rope, bias, cfg));
  }
  if (!withTail) {
    if (part.kind === 'head') {
      g.output(img, PART_IO.img, DataType.FLOAT, ['batch', 'image_tokens', dim]);
      g.output(txt, PART_IO.txt, DataType.FLOAT, ['batch', 'text_tokens', dim]);
      g.output(tembAct, PART_IO.temb, DataType.FLOAT, ['batch', dim]);
    } else {
      g.output(img, PART_IO.imgNext, DataType.FLOAT, ['batch', 'image_tokens', dim]);
      g.output(txt, PART_IO.txtNext, DataType.FLOAT, ['batch', 'text_tokens', dim]);
    }
    return g.encode(ENGINE_OPSETS);
  }
  // norm_out splits its modulation as (scale, shift): the reverse of the blocks.
  const [scale, shift] = chunks(g, g.dense(tembAct, 'norm_out.linear', dim, 2 * dim), 2) as [string, string];
  const out = g.dense(modulate(g, g.layerNorm(img, dim, EPS), shift, scale), 'proj_out', dim, cfg.inChannels);
  g.output(out, 'sample', DataType.FLOAT, ['batch', 'image_tokens', cfg.inChannels]);
  return g.encode(ENGINE_OPSETS);
}
