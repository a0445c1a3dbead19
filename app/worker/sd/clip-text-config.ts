// The CLIP text encoder config (text_encoder/config.json, text_encoder_2/config.json): CLIPTextModel and
// CLIPTextModelWithProjection as transformers writes them.

import { ConfigFields, configError } from './config-fields.js';

export type ClipActivation = 'quick_gelu' | 'gelu';

export interface ClipTextConfig {
  readonly vocabSize: number;
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
  readonly headDim: number;
  readonly positions: number;
  readonly activation: ClipActivation;
  readonly layerNormEps: number;
  /** Width of text_projection's output (CLIPTextModelWithProjection); undefined without a projection. */
  readonly projectionDim: number | undefined;
  /**
   * transformers pools at argmax(input_ids) when eos_token_id is the legacy 2 (the SD/SDXL configs), else at
   * the first position holding eos_token_id.
   */
  readonly eosTokenId: number;
}

export function parseClipTextConfig(raw: Record<string, unknown>, file: string, withProjection: boolean): ClipTextConfig {
  // Some exports nest the text tower under text_config (a full CLIPModel config).
  const f = new ConfigFields({ ...raw, ...((raw.text_config as Record<string, unknown> | undefined) ?? {}) }, file);
  const hidden = f.positive('hidden_size');
  const heads = f.positive('num_attention_heads');
  const act = f.string('hidden_act', 'quick_gelu');
  if (act !== 'quick_gelu' && act !== 'gelu') throw configError(file, `hidden_act "${act}" is not supported (quick_gelu or gelu)`);
  if (hidden % heads !== 0) throw configError(file, `hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
  return {
    vocabSize: f.positive('vocab_size'),
    hidden,
    intermediate: f.positive('intermediate_size'),
    layers: f.positive('num_hidden_layers'),
    heads,
    headDim: hidden / heads,
    positions: f.positive('max_position_embeddings', 77),
    activation: act,
    layerNormEps: f.number('layer_norm_eps', 1e-5),
    projectionDim: withProjection ? f.positive('projection_dim') : undefined,
    eosTokenId: f.number('eos_token_id', 2),
  };
}
