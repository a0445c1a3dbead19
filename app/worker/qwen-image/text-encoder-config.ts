// The Qwen2.5-VL language-model config (text_encoder/config.json) that Qwen-Image uses as its text encoder.

import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';

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

export function parseTextEncoderConfig(raw: Record<string, unknown>, file: string): TextEncoderConfig {
  // Newer configs nest the language model's settings under text_config; older ones keep them at the top.
  const text = { ...raw, ...((raw.text_config as Record<string, unknown> | undefined) ?? {}) };
  const num = (key: string, fallback?: number): number => {
    const v = text[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) throw new StudioError('model-unsupported', notice('error.configNotPositive', { file, key, value: JSON.stringify(v) ?? 'undefined' }), file);
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
