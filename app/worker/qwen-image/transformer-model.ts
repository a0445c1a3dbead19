// Runs the Qwen-Image transformer: prepares RoPE tables and the text mask, one call per denoising step.

import { createSession, floatTensor, outputFloats, release, run, type Session, type SessionConfig } from '../ort.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { transformerRope } from './rope.js';
import type { TransformerConfig } from './transformer-config.js';
import { buildTransformerGraph, transformerRoot } from './transformer-graph.js';
import type { LoraWeights } from '../lora/lora-weights.js';

export interface TransformerInput {
  /** Packed latents [batch, gridH * gridW, inChannels]. */
  readonly hidden: Float32Array;
  readonly batch: number;
  /** Image size in patches (pixels / 16). */
  readonly gridH: number;
  readonly gridW: number;
  /** Prompt embeddings [batch, textTokens, jointAttentionDim], right-padded. */
  readonly encoder: Float32Array;
  readonly textTokens: number;
  /** Valid (unpadded) text length per batch item; padded text keys are excluded from attention. */
  readonly textLengths: readonly number[];
  /** Sigma per batch item (the reference passes t / 1000). */
  readonly timesteps: Float32Array;
}

export class QwenTransformer {
  private constructor(
    private readonly session: Session,
    readonly config: TransformerConfig,
    readonly loras: readonly LoraWeights[],
  ) {}

  /** LoRAs are side branches whose strengths are inputs of each run: changing one rebuilds nothing. */
  static async open(
    weights: WeightSet,
    config: TransformerConfig,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
  ): Promise<QwenTransformer> {
    const graph = buildTransformerGraph(weights, config, loras);
    return new QwenTransformer(await createSession(graph, { ...session, externalDataFolder: transformerRoot(weights, loras) }), config, loras);
  }

  /** `loraScales[k]` is the strength of LoRA k (default 1). */
  async run(input: TransformerInput, loraScales: readonly number[] = []): Promise<Float32Array> {
    const { batch, gridH, gridW, textTokens } = input;
    const cfg = this.config;
    const imageTokens = gridH * gridW;
    const rope = transformerRope(cfg.axesDims, gridH, gridW, textTokens);
    const joint = textTokens + imageTokens;
    const bias = new Float32Array(batch * joint);
    for (let b = 0; b < batch; b++) {
      for (let t = input.textLengths[b]!; t < textTokens; t++) bias[b * joint + t] = -Infinity;
    }
    const half = cfg.headDim / 2;
    const out = await run(this.session, 'transformer', {
      hidden_states: await floatTensor(input.hidden, [batch, imageTokens, cfg.inChannels]),
      encoder_hidden_states: await floatTensor(input.encoder, [batch, textTokens, cfg.jointAttentionDim]),
      timestep: await floatTensor(input.timesteps, [batch]),
      attention_bias: await floatTensor(bias, [batch, 1, 1, joint]),
      img_cos: await floatTensor(rope.image.cos, [imageTokens, half]),
      img_sin: await floatTensor(rope.image.sin, [imageTokens, half]),
      txt_cos: await floatTensor(rope.text.cos, [textTokens, half]),
      txt_sin: await floatTensor(rope.text.sin, [textTokens, half]),
      ...Object.fromEntries(await Promise.all(this.loras.map(async (_, k) => [`lora_scale_${k}`, await floatTensor(Float32Array.of(loraScales[k] ?? 1), [1])] as const))),
    });
    return outputFloats(out, 'sample');
  }

  release(): Promise<void> {
    return release(this.session);
  }
}
