// UNet2DConditionModel as one ONNX graph: timestep (and SDXL size/pooled-text) embedding, down blocks of
// ResNets and spatial transformers, the cross-attention mid block, up blocks joined to the down path's
// skip tensors, and the output convolution.
//
// Inputs: sample [B, C, h, w], timestep [B] (the scheduler's timestep value, not sigma),
// encoder_hidden_states [B, L, cross], with text_time conditioning text_embeds [B, pooled] and time_ids
// [B, 6], with an LCM guidance embedding timestep_cond [B, dim]; LoRA strengths lora_scale_k [1]; style
// slot inputs. Output: noise_pred [B, out, h, w]. Inputs and output are float32 whatever the graph computes
// in (see sd-graph-ops for half precision). Self- and cross-attention run in the fused kernel
// (com.microsoft MultiHeadAttention without a bias): no [B, heads, S, T] score tensor at any batch.

import { dirname } from 'node:path';
import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import type { StyleSlotLayout } from '../lora/style-slots.js';
import { commonRoot, type WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, type GraphPrecision } from '../qwen-image/graph-ops.js';
import { SdGraph } from './sd-graph-ops.js';
import type { UnetConfig } from './unet-config.js';

/** The Transformer2DModel's input GroupNorm uses eps 1e-6; its blocks' LayerNorms 1e-5. */
const TRANSFORMER_NORM_EPS = 1e-6;
const BLOCK_LN_EPS = 1e-5;

export interface UnetGraphOptions extends GraphPrecision {
  readonly loras?: readonly LoraWeights[];
  readonly styleSlots?: StyleSlotLayout;
}

export function unetRoot(weights: WeightSet, loras: readonly LoraWeights[] = []): string {
  return commonRoot([weights.root, ...loras.map((l) => dirname(l.file))]);
}

/** Every spatial transformer of the UNet: its module prefix, width and depth. */
export function spatialTransformers(cfg: UnetConfig): { prefix: string; width: number; layers: number }[] {
  const out: { prefix: string; width: number; layers: number }[] = [];
  cfg.down.forEach((b, i) => {
    if (b.cross) for (let j = 0; j < b.resnets; j++) out.push({ prefix: `down_blocks.${i}.attentions.${j}`, width: b.out, layers: b.transformerLayers });
  });
  if (cfg.mid) out.push({ prefix: 'mid_block.attentions.0', width: cfg.blockOut[cfg.blockOut.length - 1]!, layers: cfg.mid.transformerLayers });
  cfg.up.forEach((b, i) => {
    if (b.cross) for (let j = 0; j < b.resnets; j++) out.push({ prefix: `up_blocks.${i}.attentions.${j}`, width: b.out, layers: b.transformerLayers });
  });
  return out;
}

/** The linear layers style slots patch: every linear of every spatial transformer, [out, in]. */
export function unetStyleTargets(cfg: UnetConfig): Map<string, readonly [number, number]> {
  const targets = new Map<string, readonly [number, number]>();
  for (const t of spatialTransformers(cfg)) {
    const c = t.width;
    if (cfg.useLinearProjection) {
      targets.set(`${t.prefix}.proj_in`, [c, c]);
      targets.set(`${t.prefix}.proj_out`, [c, c]);
    }
    for (let b = 0; b < t.layers; b++) {
      const p = `${t.prefix}.transformer_blocks.${b}`;
      for (const m of ['attn1.to_q', 'attn1.to_k', 'attn1.to_v', 'attn1.to_out.0', 'attn2.to_q', 'attn2.to_out.0']) targets.set(`${p}.${m}`, [c, c]);
      targets.set(`${p}.attn2.to_k`, [c, cfg.crossAttentionDim]);
      targets.set(`${p}.attn2.to_v`, [c, cfg.crossAttentionDim]);
      targets.set(`${p}.ff.net.0.proj`, [8 * c, c]);
      targets.set(`${p}.ff.net.2`, [c, 4 * c]);
    }
  }
  return targets;
}

class UnetGraph extends SdGraph {
  constructor(
    weights: WeightSet,
    root: string,
    readonly cfg: UnetConfig,
    precision: GraphPrecision,
  ) {
    super('unet', weights, root, precision);
  }

  private crossAttention(x: string, context: string, prefix: string, width: number, contextDim: number, heads: number): string {
    const bias = (n: string) => this.weights.has(`${prefix}.${n}.bias`);
    const q = this.dense(x, `${prefix}.to_q`, width, width, bias('to_q'));
    const k = this.dense(context, `${prefix}.to_k`, contextDim, width, bias('to_k'));
    const v = this.dense(context, `${prefix}.to_v`, contextDim, width, bias('to_v'));
    return this.dense(this.fusedAttention(q, k, v, heads, width / heads), `${prefix}.to_out.0`, width, width);
  }

  /** BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward, each pre-LayerNorm with a residual. */
  private block(t: string, prefix: string, c: number, heads: number, context: string): string {
    let n = this.affineLayerNorm(t, `${prefix}.norm1`, c, BLOCK_LN_EPS);
    t = this.op('Add', [t, this.crossAttention(n, n, `${prefix}.attn1`, c, c, heads)]);
    n = this.affineLayerNorm(t, `${prefix}.norm2`, c, BLOCK_LN_EPS);
    t = this.op('Add', [t, this.crossAttention(n, context, `${prefix}.attn2`, c, this.cfg.crossAttentionDim, heads)]);
    n = this.affineLayerNorm(t, `${prefix}.norm3`, c, BLOCK_LN_EPS);
    const inner = 4 * c;
    const [hidden, gate] = this.opN('Split', [this.dense(n, `${prefix}.ff.net.0.proj`, c, 2 * inner)], 2, { axis: attr.int(-1), num_outputs: attr.int(2) });
    const ff = this.dense(this.op('Mul', [hidden!, this.gelu(gate!)]), `${prefix}.ff.net.2`, inner, c);
    return this.op('Add', [t, ff]);
  }

  /** Transformer2DModel on [B, C, H, W]: GroupNorm, projection in, blocks, projection out, residual. */
  spatialTransformer(x: string, prefix: string, c: number, heads: number, layers: number, context: string): string {
    const normed = this.groupNorm(x, `${prefix}.norm`, c, this.cfg.groups, TRANSFORMER_NORM_EPS);
    let t: string;
    if (this.cfg.useLinearProjection) t = this.dense(this.toTokens(normed, c), `${prefix}.proj_in`, c, c);
    else t = this.toTokens(this.conv(normed, `${prefix}.proj_in`, c, c, 1), c);
    for (let b = 0; b < layers; b++) t = this.block(t, `${prefix}.transformer_blocks.${b}`, c, heads, context);
    const out = this.cfg.useLinearProjection ? this.fromTokens(this.dense(t, `${prefix}.proj_out`, c, c), c, x) : this.conv(this.fromTokens(t, c, x), `${prefix}.proj_out`, c, c, 1);
    return this.op('Add', [out, x]);
  }

  /** The time embedding in the compute type, from float32 sinusoids of the timestep (and of SDXL's size conditioning). */
  timeEmbedding(timestep: string, textEmbeds?: string, timeIds?: string, timestepCond?: string): string {
    const cfg = this.cfg;
    const c0 = cfg.blockOut[0]!;
    let proj = this.toCompute(this.sinusoid(timestep, c0, cfg.flipSinToCos, cfg.freqShift), DataType.FLOAT);
    if (timestepCond && cfg.timeCondProjDim) proj = this.op('Add', [proj, this.dense(timestepCond, 'time_embedding.cond_proj', cfg.timeCondProjDim, c0, false)]);
    let emb = this.dense(this.silu(this.dense(proj, 'time_embedding.linear_1', c0, cfg.timeEmbedDim)), 'time_embedding.linear_2', cfg.timeEmbedDim, cfg.timeEmbedDim);
    if (cfg.addTime && textEmbeds && timeIds) {
      const { timeDim, inputDim } = cfg.addTime;
      const ids = this.toCompute(this.sinusoid(this.op('Reshape', [timeIds, this.ints([-1])]), timeDim, cfg.flipSinToCos, cfg.freqShift), DataType.FLOAT);
      const joined = this.op('Concat', [textEmbeds, this.op('Reshape', [ids, this.ints([-1, 6 * timeDim])])], { axis: attr.int(1) });
      const aug = this.dense(this.silu(this.dense(joined, 'add_embedding.linear_1', inputDim, cfg.timeEmbedDim)), 'add_embedding.linear_2', cfg.timeEmbedDim, cfg.timeEmbedDim);
      emb = this.op('Add', [emb, aug]);
    }
    return emb;
  }
}

export function buildUnetGraph(weights: WeightSet, cfg: UnetConfig, o: UnetGraphOptions = {}): Uint8Array {
  return unetGraph(weights, cfg, o).encode(ENGINE_OPSETS);
}

/** The UNet graph as data (what the kernel check and the memory model read). */
export function unetGraph(weights: WeightSet, cfg: UnetConfig, o: UnetGraphOptions = {}): SdGraph {
  const loras = o.loras ?? [];
  const g = new UnetGraph(weights, unetRoot(weights, loras), cfg, { ...(o.precision ? { precision: o.precision } : {}), ...(o.target ? { target: o.target } : {}) });
  if (o.styleSlots && o.styleSlots.count > 0) g.addStyleSlots(o.styleSlots);
  loras.forEach((l, k) => g.addLora(l, `lora_scale_${k}`));
  const fromFloat = (x: string) => g.toCompute(x, DataType.FLOAT);
  const sample = fromFloat(g.input('sample', DataType.FLOAT, ['batch', cfg.inChannels, 'height', 'width']));
  const timestep = g.input('timestep', DataType.FLOAT, ['batch']);
  const context = fromFloat(g.input('encoder_hidden_states', DataType.FLOAT, ['batch', 'tokens', cfg.crossAttentionDim]));
  const textEmbeds = cfg.addTime ? fromFloat(g.input('text_embeds', DataType.FLOAT, ['batch', cfg.addTime.textEmbedDim])) : undefined;
  const timeIds = cfg.addTime ? g.input('time_ids', DataType.FLOAT, ['batch', 6]) : undefined;
  const timestepCond = cfg.timeCondProjDim ? fromFloat(g.input('timestep_cond', DataType.FLOAT, ['batch', cfg.timeCondProjDim])) : undefined;
  const temb = { value: g.timeEmbedding(timestep, textEmbeds, timeIds, timestepCond), dim: cfg.timeEmbedDim };
  const norm = { groups: cfg.groups, eps: cfg.normEps };

  let x = g.conv(sample, 'conv_in', cfg.inChannels, cfg.blockOut[0]!, cfg.convInKernel);
  let channels = cfg.blockOut[0]!;
  // The down path's outputs, consumed last-first by the up blocks (value and its channel count).
  const skips: { value: string; channels: number }[] = [{ value: x, channels }];
  cfg.down.forEach((b, i) => {
    for (let j = 0; j < b.resnets; j++) {
      x = g.resnet(x, `down_blocks.${i}.resnets.${j}`, channels, b.out, norm, temb);
      channels = b.out;
      if (b.cross) x = g.spatialTransformer(x, `down_blocks.${i}.attentions.${j}`, b.out, b.heads, b.transformerLayers, context);
      skips.push({ value: x, channels });
    }
    if (i < cfg.down.length - 1) {
      x = g.conv(x, `down_blocks.${i}.downsamplers.0.conv`, channels, channels, 3, { stride: 2 });
      skips.push({ value: x, channels });
    }
  });
  if (cfg.mid) {
    x = g.resnet(x, 'mid_block.resnets.0', channels, channels, norm, temb);
    x = g.spatialTransformer(x, 'mid_block.attentions.0', channels, cfg.mid.heads, cfg.mid.transformerLayers, context);
    x = g.resnet(x, 'mid_block.resnets.1', channels, channels, norm, temb);
  }
  cfg.up.forEach((b, i) => {
    for (let j = 0; j < b.resnets; j++) {
      const skip = skips.pop();
      if (!skip) throw new Error('the UNet config consumes more skip connections than the down path makes');
      x = g.op('Concat', [x, skip.value], { axis: attr.int(1) });
      x = g.resnet(x, `up_blocks.${i}.resnets.${j}`, channels + skip.channels, b.out, norm, temb);
      channels = b.out;
      if (b.cross) x = g.spatialTransformer(x, `up_blocks.${i}.attentions.${j}`, b.out, b.heads, b.transformerLayers, context);
    }
    if (i < cfg.up.length - 1) {
      // To the size of the skip tensor it meets next: odd latent sizes round down on the way down.
      x = g.conv(g.upsampleTo(x, skips[skips.length - 1]!.value), `up_blocks.${i}.upsamplers.0.conv`, channels, channels, 3);
    }
  });
  x = g.conv(g.silu(g.groupNorm(x, 'conv_norm_out', channels, cfg.groups, cfg.normEps)), 'conv_out', channels, cfg.outChannels, cfg.convOutKernel);
  g.output(g.cast(x, g.computeType, DataType.FLOAT), 'noise_pred', DataType.FLOAT, ['batch', cfg.outChannels, 'height', 'width']);
  return g;
}
