// The Qwen2.5-VL language-model config (text_encoder/config.json) that Qwen-Image uses as its text encoder.

import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { configTooLarge } from './transformer-config.js';

export interface TextEncoderConfig {
  readonly vocabSize: number;
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ropeTheta: number;
  readonly rmsEps: number;
}

/** Several times Qwen2.5-VL-7B's sizes (152064 tokens, 3584 wide, 18944 MLP, 28 layers, 28/4 heads). */
export const TEXT_ENCODER_BOUNDS = {
  vocab_size: 1_048_576,
  hidden_size: 32768,
  intermediate_size: 131072,
  num_hidden_layers: 256,
  num_attention_heads: 256,
  num_key_value_heads: 256,
} as const;

export function parseTextEncoderConfig(raw: Record<string, unknown>, file: string): TextEncoderConfig {
  // Newer configs nest the language model's settings under text_config; older ones keep them at the top.
  const text = { ...raw, ...((raw.text_config as Record<string, unknown> | undefined) ?? {}) };
  const num = (key: string, fallback?: number): number => {
    const v = text[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) throw new StudioError('model-unsupported', notice('error.configNotPositive', { file, key, value: JSON.stringify(v) ?? 'undefined' }), file);
    const max = TEXT_ENCODER_BOUNDS[key as keyof typeof TEXT_ENCODER_BOUNDS];
    if (max !== undefined && v > max) throw configTooLarge(file, key, v, max);
    return v;
  };
  const cfg: TextEncoderConfig = {
    vocabSize: num('vocab_size'),
    hidden: num('hidden_size'),
    intermediate: num('intermediate_size'),
    layers: num('num_hidden_layers'),
    heads: num('num_attention_heads'),
    kvHeads: num('num_key_value_heads'),
    headDim: 0,
    ropeTheta: num('rope_theta', 1_000_000),
    rmsEps: num('rms_norm_eps', 1e-6),
  };
  const headDim = cfg.hidden / cfg.heads;
  if (!Number.isInteger(headDim) || cfg.heads % cfg.kvHeads !== 0) {
    throw new StudioError('model-unsupported', notice('error.configHeads', { file, heads: cfg.heads, hidden: cfg.hidden, kvHeads: cfg.kvHeads }), file);
  }
  return { ...cfg, headDim };
}
