// Runs the Qwen-Image transformer: prepares RoPE tables and the text mask, one call per denoising step.

import { createSession, floatTensor, outputFloats, release, run, type OrtTensor, type Session, type SessionConfig } from '../ort.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { transformerRope } from './rope.js';
import type { TransformerConfig } from './transformer-config.js';
import { buildTransformerGraph, styleTargets, transformerRoot } from './transformer-graph.js';
import { slotInputNames, slotScaleName, type PreparedStyle, type StyleSlotLayout } from '../lora/style-slots.js';
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
  private readonly slotFeeds: Record<string, OrtTensor>[];
  private readonly zeros = new Map<string, OrtTensor>();

  private constructor(
    private readonly session: Session,
    readonly config: TransformerConfig,
    readonly weights: WeightSet,
    readonly loras: readonly LoraWeights[],
    readonly styleLayout: StyleSlotLayout | undefined,
  ) {
    this.slotFeeds = Array.from({ length: styleLayout?.count ?? 0 }, () => ({}));
  }

  /**
   * Fixed LoRAs are side branches whose strengths are inputs of each run: changing one rebuilds nothing.
   * Style slots take LoRA matrices as inputs: see setStyle.
   */
  static async open(
    weights: WeightSet,
    config: TransformerConfig,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    styleSlots?: { count: number; rank: number },
  ): Promise<QwenTransformer> {
    const graph = buildTransformerGraph(weights, config, { loras, ...(styleSlots ? { styleSlots } : {}) });
    const layout = styleSlots && styleSlots.count > 0 ? { ...styleSlots, targets: styleTargets(config) } : undefined;
    const created = await createSession(graph, { ...session, externalDataFolder: transformerRoot(weights, loras) });
    const model = new QwenTransformer(created, config, weights, loras, layout);
    for (let k = 0; k < (layout?.count ?? 0); k++) await model.setStyle(k, undefined);
    return model;
  }

  /** Puts a prepared style LoRA in slot k (undefined empties it). Only tensors are swapped. */
  async setStyle(slot: number, style: PreparedStyle | undefined): Promise<void> {
    const layout = this.styleLayout;
    if (!layout || slot < 0 || slot >= layout.count) throw new RangeError(`no style slot ${slot}`);
    const feeds: Record<string, OrtTensor> = {};
    for (const [module, [outF, inF]] of layout.targets) {
      const names = slotInputNames(slot, module);
      const m = style?.modules.get(module);
      feeds[names.a] = m ? await floatTensor(m.a, [layout.rank, inF]) : await this.zero([layout.rank, inF]);
      feeds[names.b] = m ? await floatTensor(m.b, [outF, layout.rank]) : await this.zero([outF, layout.rank]);
    }
    this.slotFeeds[slot] = feeds;
  }

  private async zero(dims: readonly number[]): Promise<OrtTensor> {
    const key = dims.join('x');
    let t = this.zeros.get(key);
    if (!t) {
      t = await floatTensor(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
      this.zeros.set(key, t);
    }
    return t;
  }

  /** `loraScales[k]` is the strength of fixed LoRA k (default 1); `styleScales[k]` of style slot k (default 0). */
  async run(input: TransformerInput, loraScales: readonly number[] = [], styleScales: readonly number[] = []): Promise<Float32Array> {
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
      ...Object.assign({}, ...this.slotFeeds),
      ...Object.fromEntries(await Promise.all(this.slotFeeds.map(async (_, k) => [slotScaleName(k), await floatTensor(Float32Array.of(styleScales[k] ?? 0), [1])] as const))),
    });
    return outputFloats(out, 'sample');
  }

  release(): Promise<void> {
    return release(this.session);
  }
}
