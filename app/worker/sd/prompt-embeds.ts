// Prompt conditioning as the Stable Diffusion pipelines build it from their text encoders' outputs.

export interface SdPrompt {
  /** [batch, tokens, channels]: cross-attention context. */
  readonly embeds: Float32Array;
  readonly tokens: number;
  readonly channels: number;
  /** [batch, pooledDim] (SDXL: text_encoder_2's projected EOS state); absent for SD 2.x. */
  readonly pooled?: Float32Array;
}

/** Joins [B, L, a] and [B, L, b] on the channel axis: SDXL puts text_encoder's part first. */
export function concatChannels(a: Float32Array, aDim: number, b: Float32Array, bDim: number, rows: number): Float32Array {
  const out = new Float32Array(rows * (aDim + bDim));
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * aDim, (r + 1) * aDim), r * (aDim + bDim));
    out.set(b.subarray(r * bDim, (r + 1) * bDim), r * (aDim + bDim) + aDim);
  }
  return out;
}

/** The all-zero conditioning SDXL uses for an empty negative prompt (force_zeros_for_empty_prompt). */
export function zeroPrompt(like: SdPrompt): SdPrompt {
  return {
    embeds: new Float32Array(like.embeds.length),
    tokens: like.tokens,
    channels: like.channels,
    ...(like.pooled ? { pooled: new Float32Array(like.pooled.length) } : {}),
  };
}
