// Runs the text encoder and turns its output into the prompt embeddings the pipeline feeds the transformer.

import { floatTensor, int64Tensor, LazySession, outputFloats, type OrtTensor, type SessionConfig } from '../ort.js';
import type { Precision } from '../../shared/precision.js';
import type { GraphPrecision } from './graph-ops.js';
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
  /** The graph for right-padded batches, built the first time one arrives (never for a single prompt). */
  private masked: LazySession | undefined;

  private constructor(
    private readonly session: LazySession,
    private readonly sessionConfig: SessionConfig,
    readonly config: TextEncoderConfig,
    readonly weights: WeightSet,
    readonly loras: readonly LoraWeights[],
    readonly quantized: QuantizedLinears | undefined,
    private readonly graphPrecision: GraphPrecision,
  ) {
    this.loraScales = loras.map(() => 1);
  }

  static open(
    weights: WeightSet,
    config: TextEncoderConfig,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    quantized?: QuantizedLinears,
    precision: GraphPrecision = {},
  ): Promise<QwenTextEncoder> {
    const graph = buildTextEncoderGraph(weights, config, { loras, ...(quantized ? { quantized } : {}), ...precision });
    const sessionConfig = { ...session, externalDataFolder: textEncoderRoot(weights, loras, quantized) };
    const lazy = new LazySession('text encoder', graph, sessionConfig);
    return Promise.resolve(new QwenTextEncoder(lazy, sessionConfig, config, weights, loras, quantized, precision));
  }

  get precision(): Precision {
    return this.graphPrecision.precision ?? 'f32';
  }

  /** Creates the session now (plans that keep everything loaded); otherwise it is made on first use. */
  async load(): Promise<void> {
    await this.session.get();
  }

  /** Releases the session until the next prompt (plans that hold one component at a time). */
  async unload(): Promise<void> {
    await Promise.all([this.session.unload(), this.masked?.unload()]);
  }

  /** The last hidden state for right-padded ids [batch, tokens] with a 0/1 mask. */
  async lastHiddenState(ids: readonly number[], mask: readonly number[], batch: number): Promise<Float32Array> {
    const tokens = ids.length / batch;
    const { headDim, ropeTheta } = this.config;
    const padded = mask.some((m) => !m);
    const positions = new BigInt64Array(batch * tokens);
    for (let b = 0; b < batch; b++) {
      // As transformers: positions count real tokens; padded positions get position 1.
      let count = 0;
      for (let t = 0; t < tokens; t++) positions[b * tokens + t] = BigInt(mask[b * tokens + t] ? count++ : 1);
    }
    const table = textRope(Array.from({ length: Math.max(tokens, 2) }, (_, i) => i), headDim, ropeTheta);
    const feeds: Record<string, OrtTensor> = {
      input_ids: await int64Tensor(BigInt64Array.from(ids, BigInt), [batch, tokens]),
      position_ids: await int64Tensor(positions, [batch, tokens]),
      rope_cos: await floatTensor(table.cos, [table.rows, table.half]),
      rope_sin: await floatTensor(table.sin, [table.rows, table.half]),
      ...Object.fromEntries(await Promise.all(this.loras.map(async (_, k) => [`lora_scale_${k}`, await floatTensor(Float32Array.of(this.loraScales[k] ?? 1), [1])] as const))),
    };
    if (!padded) return outputFloats(await this.session.run(feeds), 'last_hidden_state');
    const bias = new Float32Array(batch * tokens * tokens);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < tokens; t++) {
        for (let k = 0; k < tokens; k++) if (k > t || !mask[b * tokens + k]) bias[(b * tokens + t) * tokens + k] = MASKED;
      }
    }
    this.masked ??= new LazySession(
      'text encoder (padded batch)',
      buildTextEncoderGraph(this.weights, this.config, { loras: this.loras, ...(this.quantized ? { quantized: this.quantized } : {}), ...this.graphPrecision, masked: true }),
      this.sessionConfig,
    );
    return outputFloats(await this.masked.run({ ...feeds, attention_bias: await floatTensor(bias, [batch, 1, tokens, tokens]) }), 'last_hidden_state');
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
    return this.unload();
  }
}
