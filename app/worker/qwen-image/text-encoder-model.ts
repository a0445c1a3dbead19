// Runs the text encoder and turns its output into the prompt embeddings the pipeline feeds the transformer.

import { floatTensor, int64Tensor, LazySession, outputFloats, type SessionConfig } from '../ort.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { textRope } from './rope.js';
import type { TextEncoderConfig } from './text-encoder-config.js';
import { buildTextEncoderGraph, textEncoderRoot } from './text-encoder-graph.js';
import type { LoraWeights } from '../lora/lora-weights.js';

/** QwenImagePipeline drops the system part of its chat template: the first 34 token positions. */
export const TEMPLATE_DROP = 34;
/** The largest masked score: float32's lowest value, as transformers uses, so no row is ever all -inf. */
const MASKED = -3.4028234663852886e38;

export interface PromptEmbeds {
  /** [batch, maxLength, hidden], right-padded with zeros. */
  readonly embeds: Float32Array;
  readonly lengths: readonly number[];
  readonly maxLength: number;
}

export class QwenTextEncoder {
  /** Strength of each LoRA side branch, fed with every run. */
  loraScales: number[];

  private constructor(
    private readonly session: LazySession,
    readonly config: TextEncoderConfig,
    readonly weights: WeightSet,
    readonly loras: readonly LoraWeights[],
    readonly quantized: QuantizedLinears | undefined,
  ) {
    this.loraScales = loras.map(() => 1);
  }

  static async open(
    weights: WeightSet,
    config: TextEncoderConfig,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    quantized?: QuantizedLinears,
  ): Promise<QwenTextEncoder> {
    const graph = buildTextEncoderGraph(weights, config, loras, quantized);
    const lazy = new LazySession('text encoder', graph, { ...session, externalDataFolder: textEncoderRoot(weights, loras, quantized) });
    return new QwenTextEncoder(lazy, config, weights, loras, quantized);
  }

  /** Creates the session now (plans that keep everything loaded); otherwise it is made on first use. */
  async load(): Promise<void> {
    await this.session.get();
  }

  /** Releases the session until the next prompt (plans that hold one component at a time). */
  unload(): Promise<void> {
    return this.session.unload();
  }

  /** The last hidden state for right-padded ids [batch, tokens] with a 0/1 mask. */
  async lastHiddenState(ids: readonly number[], mask: readonly number[], batch: number): Promise<Float32Array> {
    const tokens = ids.length / batch;
    const { headDim, ropeTheta } = this.config;
    const bias = new Float32Array(batch * tokens * tokens);
    const cos = new Float32Array(batch * tokens * headDim);
    const sin = new Float32Array(batch * tokens * headDim);
    for (let b = 0; b < batch; b++) {
      const m = mask.slice(b * tokens, (b + 1) * tokens);
      // As transformers: positions count real tokens; padded positions get position 1.
      let count = 0;
      const positions = m.map((v) => (v ? count++ : 1));
      const table = textRope(positions, headDim, ropeTheta);
      const half = headDim / 2;
      for (let t = 0; t < tokens; t++) {
        for (let j = 0; j < half; j++) {
          const c = table.cos[t * half + j]!;
          const s = table.sin[t * half + j]!;
          const o = (b * tokens + t) * headDim;
          cos[o + j] = c;
          cos[o + j + half] = c;
          sin[o + j] = s;
          sin[o + j + half] = s;
        }
        for (let k = 0; k < tokens; k++) {
          if (k > t || !m[k]) bias[(b * tokens + t) * tokens + k] = MASKED;
        }
      }
    }
    const out = await this.session.run({
      input_ids: await int64Tensor(BigInt64Array.from(ids, BigInt), [batch, tokens]),
      attention_bias: await floatTensor(bias, [batch, 1, tokens, tokens]),
      rope_cos: await floatTensor(cos, [batch, tokens, headDim]),
      rope_sin: await floatTensor(sin, [batch, tokens, headDim]),
      ...Object.fromEntries(await Promise.all(this.loras.map(async (_, k) => [`lora_scale_${k}`, await floatTensor(Float32Array.of(this.loraScales[k] ?? 1), [1])] as const))),
    });
    return outputFloats(out, 'last_hidden_state');
  }

  /** Prompt embeddings as QwenImagePipeline computes them: real tokens only, template prefix dropped. */
  async promptEmbeds(ids: readonly number[], mask: readonly number[], batch: number): Promise<PromptEmbeds> {
    const tokens = ids.length / batch;
    const hidden = this.config.hidden;
    const state = await this.lastHiddenState(ids, mask, batch);
    const rows: Float32Array[] = [];
    for (let b = 0; b < batch; b++) {
      const kept: number[] = [];
      for (let t = 0; t < tokens; t++) if (mask[b * tokens + t]) kept.push(t);
      const positions = kept.slice(TEMPLATE_DROP);
      const row = new Float32Array(positions.length * hidden);
      positions.forEach((t, i) => row.set(state.subarray((b * tokens + t) * hidden, (b * tokens + t + 1) * hidden), i * hidden));
      rows.push(row);
    }
    const lengths = rows.map((r) => r.length / hidden);
    const maxLength = Math.max(...lengths);
    const embeds = new Float32Array(batch * maxLength * hidden);
    rows.forEach((r, b) => embeds.set(r, b * maxLength * hidden));
    return { embeds, lengths, maxLength };
  }

  release(): Promise<void> {
    return this.session.unload();
  }
}
