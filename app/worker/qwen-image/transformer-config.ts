// The QwenImageTransformer2DModel config (transformer/config.json), validated against what the graph supports.

import { FAMILIES } from '../../shared/model-families.js';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';

/** A config value beyond what any model of this family has: refused with the file, the key and the limit. */
export function configTooLarge(file: string, key: string, value: number, max: number): StudioError {
  return new StudioError('model-unsupported', notice('error.configTooLarge', { file, key, value, max }), file);
}

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

/**
 * The largest value each size may take: several times the official model's (60 layers, 24 x 128 heads,
 * 3584 text width, 64 channels). A config beyond them is not Qwen-Image and would have the worker build a
 * graph for minutes or forever (num_layers: 1e9), so it is refused before anything is built.
 */
export const TRANSFORMER_BOUNDS = { num_layers: 256, num_attention_heads: 128, attention_head_dim: 512, joint_attention_dim: 16384, in_channels: 1024, out_channels: 256, patch_size: 8 } as const;

export function parseTransformerConfig(raw: Record<string, unknown>, file: string): TransformerConfig {
  const int = (key: keyof typeof TRANSFORMER_BOUNDS, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new StudioError('model-unsupported', notice('error.configNotPositiveInteger', { file, key, value: JSON.stringify(v) ?? 'undefined' }), file);
    }
    if (v > TRANSFORMER_BOUNDS[key]) throw configTooLarge(file, key, v, TRANSFORMER_BOUNDS[key]);
    return v;
  };
  for (const flag of ['guidance_embeds', 'use_additional_t_cond', 'use_layer3d_rope', 'zero_cond_t'] as const) {
    if (raw[flag] === true) {
      throw new StudioError('model-unsupported', notice('error.configEditing', { file, flag, family: FAMILIES['qwen-image'].title }), file);
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
  if (!Array.isArray(axes) || axes.length !== 3 || axes.some((d) => !Number.isInteger(d) || d % 2 !== 0 || d < 0)) {
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
