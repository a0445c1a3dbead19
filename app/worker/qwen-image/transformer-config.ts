// The QwenImageTransformer2DModel config (transformer/config.json), validated against what the graph supports.

import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';

export interface TransformerConfig {
  readonly numLayers: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly jointAttentionDim: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly patchSize: number;
  readonly axesDims: readonly [number, number, number];
}

export function parseTransformerConfig(raw: Record<string, unknown>, file: string): TransformerConfig {
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new StudioError('model-unsupported', notice('error.configNotPositiveInteger', { file, key, value: JSON.stringify(v) ?? 'undefined' }), file);
    }
    return v;
  };
  for (const flag of ['guidance_embeds', 'use_additional_t_cond', 'use_layer3d_rope', 'zero_cond_t'] as const) {
    if (raw[flag] === true) {
      throw new StudioError('model-unsupported', notice('error.configEditing', { file, flag }), file);
    }
  }
  const cfg: TransformerConfig = {
    numLayers: int('num_layers', 60),
    numHeads: int('num_attention_heads', 24),
    headDim: int('attention_head_dim', 128),
    jointAttentionDim: int('joint_attention_dim', 3584),
    inChannels: int('in_channels', 64),
    outChannels: int('out_channels', 16),
    patchSize: int('patch_size', 2),
    axesDims: (raw.axes_dims_rope as [number, number, number] | undefined) ?? [16, 56, 56],
  };
  const axes = cfg.axesDims;
  if (!Array.isArray(axes) || axes.length !== 3 || axes.some((d) => !Number.isInteger(d) || d % 2 !== 0)) {
    throw new StudioError('model-unsupported', notice('error.configRopeAxes', { file }), file);
  }
  if (axes[0] + axes[1] + axes[2] !== cfg.headDim) {
    throw new StudioError('model-unsupported', notice('error.configRopeSum', { file, axes: axes.join(', '), headDim: cfg.headDim }), file);
  }
  if (cfg.inChannels !== cfg.outChannels * cfg.patchSize * cfg.patchSize) {
    throw new StudioError('model-unsupported', notice('error.configPacking', { file, inChannels: cfg.inChannels }), file);
  }
  return cfg;
}
