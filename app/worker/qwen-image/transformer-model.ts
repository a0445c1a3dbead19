// Runs the Qwen-Image transformer: prepares RoPE tables and the text mask, one call per denoising step.
// As one graph, or split into a head, groups of blocks and a tail that a streaming plan loads in turn.

import { floatTensor, LazySession, outputFloats, type OrtTensor, type SessionConfig } from '../ort.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { transformerRope } from './rope.js';
import type { TransformerConfig } from './transformer-config.js';
import { buildTransformerGraph, PART_IO, styleTargets, transformerRoot, type TransformerPart } from './transformer-graph.js';
import { slotInputNames, slotScaleName, type PreparedStyle, type StyleSlotLayout } from '../lora/style-slots.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';

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

/** How the transformer is laid out in sessions. */
export interface TransformerLayout {
  /** Blocks per streamed group; absent (or all blocks) runs the transformer as one graph. */
  readonly groupBlocks?: number;
  /** Streamed groups kept loaded from step to step (the first ones); the others are loaded for each use. */
  readonly pinnedGroups?: number;
  /** Block linears as n-bit weights from the quantized cache. */
  readonly quantized?: QuantizedLinears;
}

interface Parts {
  readonly whole?: LazySession;
  readonly head?: LazySession;
  readonly groups: readonly LazySession[];
  readonly tail?: LazySession;
}

export class QwenTransformer {
  private readonly slotFeeds: Record<string, OrtTensor>[];
  private readonly zeros = new Map<string, OrtTensor>();
  /** The most parts that were loaded at one time: what a streaming plan bounds. */
  peakLoadedParts = 0;

  private constructor(
    private readonly parts: Parts,
    readonly config: TransformerConfig,
    readonly weights: WeightSet,
    readonly loras: readonly LoraWeights[],
    readonly styleLayout: StyleSlotLayout | undefined,
    readonly layout: TransformerLayout,
  ) {
    this.slotFeeds = Array.from({ length: styleLayout?.count ?? 0 }, () => ({}));
  }

  /**
   * Fixed LoRAs are side branches whose strengths are inputs of each run: changing one rebuilds nothing.
   * Style slots take LoRA matrices as inputs: see setStyle. Sessions are created on first use.
   */
  static async open(
    weights: WeightSet,
    config: TransformerConfig,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    styleSlots?: { count: number; rank: number },
    layout: TransformerLayout = {},
  ): Promise<QwenTransformer> {
    const sessionConfig = { ...session, externalDataFolder: transformerRoot(weights, loras, layout.quantized) };
    const part = (p: TransformerPart, label: string) =>
      new LazySession(label, buildTransformerGraph(weights, config, { loras, ...(styleSlots ? { styleSlots } : {}), ...(layout.quantized ? { quantized: layout.quantized } : {}), part: p }), sessionConfig);
    const size = layout.groupBlocks ?? config.numLayers;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`blocks per group must be a positive integer, got ${size}`);
    let parts: Parts;
    if (size >= config.numLayers) {
      parts = { whole: part({ kind: 'whole' }, 'transformer'), groups: [] };
    } else {
      const groups: LazySession[] = [];
      for (let from = 0; from < config.numLayers; from += size) {
        const to = Math.min(config.numLayers, from + size);
        groups.push(part({ kind: 'blocks', from, to }, `transformer blocks ${from}-${to - 1}`));
      }
      parts = { head: part({ kind: 'head' }, 'transformer head'), groups, tail: part({ kind: 'tail' }, 'transformer tail') };
    }
    const layoutOut = { ...layout, groupBlocks: Math.min(size, config.numLayers) };
    const model = new QwenTransformer(parts, config, weights, loras, styleSlots && styleSlots.count > 0 ? { ...styleSlots, targets: styleTargets(config) } : undefined, layoutOut);
    for (let k = 0; k < (model.styleLayout?.count ?? 0); k++) await model.setStyle(k, undefined);
    return model;
  }

  get streamed(): boolean {
    return this.parts.groups.length > 0;
  }

  /** Creates the sessions a run keeps loaded: the whole graph, or the head, tail and pinned groups. */
  async load(): Promise<void> {
    const { whole, head, tail, groups } = this.parts;
    for (const s of [whole, head, tail, ...groups.slice(0, this.layout.pinnedGroups ?? 0)]) await s?.get();
    this.notePeak();
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

  private notePeak(): void {
    const { whole, head, tail, groups } = this.parts;
    const loaded = [whole, head, tail, ...groups].filter((s) => s?.loaded).length;
    this.peakLoadedParts = Math.max(this.peakLoadedParts, loaded);
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
    const feeds: Record<string, OrtTensor> = {
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
    };
    const { whole, head, tail, groups } = this.parts;
    if (whole) {
      const out = await whole.run(feeds);
      this.notePeak();
      return outputFloats(out, 'sample');
    }
    const h = await head!.run(feeds);
    let state = { [PART_IO.img]: h[PART_IO.img]!, [PART_IO.txt]: h[PART_IO.txt]!, [PART_IO.temb]: h[PART_IO.temb]! };
    const pinned = this.layout.pinnedGroups ?? 0;
    for (const [i, group] of groups.entries()) {
      const out = await group.run({ ...feeds, ...state });
      this.notePeak();
      state = { ...state, [PART_IO.img]: out[PART_IO.imgNext]!, [PART_IO.txt]: out[PART_IO.txtNext]! };
      // A streamed group leaves before the next one arrives: at most head, tail, pinned groups and one more.
      if (i >= pinned) await group.unload();
    }
    const out = await tail!.run({ ...feeds, ...state });
    this.notePeak();
    return outputFloats(out, 'sample');
  }

  /** Releases every session; the next run loads again (plans that hold one component at a time). */
  async unload(): Promise<void> {
    const { whole, head, tail, groups } = this.parts;
    await Promise.all([whole, head, tail, ...groups].map((s) => s?.unload()));
  }

  release(): Promise<void> {
    return this.unload();
  }
}
