// Runs the Qwen-Image transformer: prepares RoPE tables and the timestep modulation, one call per
// denoising step. As one graph, or split into a head, groups of blocks and a tail that a streaming plan
// loads in turn. The modulation (a third of the weights) runs in its own sessions, once per timestep of a
// schedule, and is kept: the blocks never load those weights.

import { float16Tensor, floatTensor, LazySession, outputFloats, type OrtTensor, type SessionConfig } from '../ort.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { transformerRope, type RopeTable } from './rope.js';
import type { TransformerConfig } from './transformer-config.js';
import { buildModulationGraph, buildTransformerGraph, isModulationModule, PART_IO, styleTargets, transformerRoot, type TransformerPart } from './transformer-graph.js';
import { slotInputNames, slotScaleName, type PreparedStyle, type StyleSlotLayout } from '../lora/style-slots.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';
import type { HalfCare } from './graph-ops.js';
import type { Precision } from '../../shared/precision.js';

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
  /** Valid (unpadded) text length per batch item; padding is trimmed, never attended to. */
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
  /** Blocks per modulation session (each loaded, run for every new timestep, released); default all. */
  readonly modulationBlocks?: number;
}

export interface TransformerPrecision {
  readonly precision?: Precision;
  readonly halfCare?: HalfCare;
}

interface Parts {
  readonly whole?: LazySession;
  /** The input projections and the blocks kept loaded (streaming plans). */
  readonly front?: LazySession;
  /** The other blocks, loaded for each use and released after it. */
  readonly groups: readonly LazySession[];
  readonly tail?: LazySession;
}

/** Modulation vectors of one timestep: per block [12 * dim], and norm_out's [2 * dim]. */
interface Modulation {
  readonly blocks: readonly Float32Array[];
  readonly out: Float32Array;
}

/** Timesteps whose modulation is kept: a few schedules' worth (8.8 MB each at full size). */
const MODULATION_CACHE = 16;

export class QwenTransformer {
  private readonly slotFeeds: Record<string, OrtTensor>[];
  private readonly zeros = new Map<string, OrtTensor>();
  private readonly modulation = new Map<string, Modulation>();
  private rope: { key: string; table: { image: RopeTable; text: RopeTable } } | undefined;
  /** The most parts that were loaded at one time: what a streaming plan bounds. */
  peakLoadedParts = 0;
  /** Timesteps whose modulation was computed (not found in the cache): what `npm run bench:engine` counts. */
  modulationRuns = 0;

  private constructor(
    private readonly parts: Parts,
    private readonly modulationParts: readonly LazySession[],
    readonly config: TransformerConfig,
    readonly weights: WeightSet,
    readonly loras: readonly LoraWeights[],
    readonly styleLayout: StyleSlotLayout | undefined,
    readonly layout: TransformerLayout,
    readonly precision: Precision,
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
    precision: TransformerPrecision = {},
  ): Promise<QwenTransformer> {
    const sessionConfig = { ...session, externalDataFolder: transformerRoot(weights, loras, layout.quantized) };
    const slots = styleSlots && styleSlots.count > 0 ? styleSlots : undefined;
    const part = (p: TransformerPart, label: string, config_: SessionConfig = sessionConfig) =>
      new LazySession(label, buildTransformerGraph(weights, config, { loras, ...(slots ? { styleSlots: slots } : {}), ...(layout.quantized ? { quantized: layout.quantized } : {}), part: p, ...precision }), config_);
    const size = layout.groupBlocks ?? config.numLayers;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`blocks per group must be a positive integer, got ${size}`);
    let parts: Parts;
    if (size >= config.numLayers) {
      parts = { whole: part({ kind: 'whole' }, 'transformer'), groups: [] };
    } else {
      const kept = Math.min(config.numLayers, (layout.pinnedGroups ?? 0) * size);
      // Streamed groups live for one use: on the CPU without an arena, so what they allocate is freed with
      // them instead of staying reserved in an arena of their own.
      const streamedConfig: SessionConfig = { ...sessionConfig, cpuArena: false };
      const groups: LazySession[] = [];
      for (let from = kept; from < config.numLayers; from += size) {
        const to = Math.min(config.numLayers, from + size);
        groups.push(part({ kind: 'blocks', from, to }, `transformer blocks ${from}-${to - 1}`, streamedConfig));
      }
      parts = { front: part({ kind: 'front', to: kept }, kept ? `transformer front (blocks 0-${kept - 1})` : 'transformer head'), groups, tail: part({ kind: 'tail' }, 'transformer tail') };
    }
    const modSize = Math.max(1, Math.min(layout.modulationBlocks ?? config.numLayers, config.numLayers));
    const modulationParts: LazySession[] = [];
    // The modulation computes in float32 whatever the blocks do (it sets the scales and gates of every block).
    const modConfig = { ...session, precision: 'f32' as const, externalDataFolder: transformerRoot(weights, loras) };
    for (let from = 0; from < config.numLayers; from += modSize) {
      const to = Math.min(config.numLayers, from + modSize);
      const graph = buildModulationGraph(weights, config, { loras, blocks: [from, to], withOut: to === config.numLayers });
      modulationParts.push(new LazySession(`modulation ${from}-${to - 1}`, graph, modConfig));
    }
    const layoutOut = { ...layout, groupBlocks: Math.min(size, config.numLayers), modulationBlocks: modSize };
    const model = new QwenTransformer(parts, modulationParts, config, weights, loras, slots ? { ...slots, targets: styleTargets(config) } : undefined, layoutOut, precision.precision ?? 'f32');
    for (let k = 0; k < (model.styleLayout?.count ?? 0); k++) await model.setStyle(k, undefined);
    return model;
  }

  get streamed(): boolean {
    return this.parts.groups.length > 0;
  }

  /** Creates the sessions a run keeps loaded: the whole graph, or the front (with the kept blocks) and the tail. */
  async load(): Promise<void> {
    const { whole, front, tail } = this.parts;
    for (const s of [whole, front, tail]) await s?.get();
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
      feeds[names.a] = m ? await this.slotTensor(m.a, [layout.rank, inF]) : await this.zero([layout.rank, inF]);
      feeds[names.b] = m ? await this.slotTensor(m.b, [outF, layout.rank]) : await this.zero([outF, layout.rank]);
    }
    this.slotFeeds[slot] = feeds;
  }

  /** Slot matrices travel in float16 to half-precision graphs: half the bytes copied at every step. */
  private slotTensor(data: Float32Array, dims: readonly number[]): Promise<OrtTensor> {
    return this.precision === 'f32' ? floatTensor(data, dims) : float16Tensor(data, dims);
  }

  private async zero(dims: readonly number[]): Promise<OrtTensor> {
    const key = dims.join('x');
    let t = this.zeros.get(key);
    if (!t) {
      t = await this.slotTensor(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
      this.zeros.set(key, t);
    }
    return t;
  }

  private notePeak(): void {
    const { whole, front, tail, groups } = this.parts;
    const loaded = [whole, front, tail, ...groups].filter((s) => s?.loaded).length;
    this.peakLoadedParts = Math.max(this.peakLoadedParts, loaded);
  }

  /** The modulation depends on a speed LoRA's strength only if that LoRA patches the modulation linears. */
  private modulationKey(t: number, loraScales: readonly number[]): string {
    const scales = this.loras.map((l, k) => ([...l.modules.keys()].some(isModulationModule) ? (loraScales[k] ?? 1) : '-'));
    return `${Math.fround(t)}|${scales.join(',')}`;
  }

  /**
   * Computes (once) the modulation of every timestep given: a schedule's timesteps in one batched run of
   * each modulation session, each loaded for that run and released. Later steps find them in the cache.
   */
  async prepareModulation(timesteps: readonly number[], loraScales: readonly number[] = []): Promise<void> {
    const missing = [...new Set(timesteps.map(Math.fround))].filter((t) => !this.modulation.has(this.modulationKey(t, loraScales)));
    if (missing.length === 0) return;
    const dim = this.config.numHeads * this.config.headDim;
    const feeds: Record<string, OrtTensor> = {
      timestep: await floatTensor(Float32Array.from(missing), [missing.length]),
      ...Object.fromEntries(await Promise.all(this.loras.map(async (_, k) => [`lora_scale_${k}`, await floatTensor(Float32Array.of(loraScales[k] ?? 1), [1])] as const))),
    };
    const blocks: Float32Array[][] = missing.map(() => []);
    const outs: Float32Array[] = [];
    for (const part of this.modulationParts) {
      const result = await part.run(feeds);
      await part.unload();
      for (const [name, tensor] of Object.entries(result)) {
        const data = tensor.data as Float32Array;
        const width = name === 'mod.out' ? 2 * dim : 12 * dim;
        missing.forEach((_, j) => {
          const row = data.slice(j * width, (j + 1) * width);
          if (name === 'mod.out') outs[j] = row;
          else blocks[j]![Number(name.slice(4))] = row;
        });
      }
    }
    missing.forEach((t, j) => this.modulation.set(this.modulationKey(t, loraScales), { blocks: blocks[j]!, out: outs[j]! }));
    this.modulationRuns += missing.length;
    while (this.modulation.size > MODULATION_CACHE) this.modulation.delete(this.modulation.keys().next().value!);
  }

  private ropeTables(gridH: number, gridW: number, textTokens: number): { image: RopeTable; text: RopeTable } {
    const key = `${gridH}x${gridW}:${textTokens}`;
    if (this.rope?.key !== key) this.rope = { key, table: transformerRope(this.config.axesDims, gridH, gridW, textTokens) };
    return this.rope.table;
  }

  /**
   * `loraScales[k]` is the strength of fixed LoRA k (default 1); `styleScales[k]` of style slot k (default 0).
   * A batch runs item by item, each with its own text length: padding is trimmed instead of masked.
   */
  async run(input: TransformerInput, loraScales: readonly number[] = [], styleScales: readonly number[] = []): Promise<Float32Array> {
    const { batch, gridH, gridW, textTokens } = input;
    const cfg = this.config;
    const imageTokens = gridH * gridW;
    if (batch === 1 && input.textLengths[0] === textTokens) return this.runOne(input, loraScales, styleScales);
    const out = new Float32Array(batch * imageTokens * cfg.inChannels);
    for (let b = 0; b < batch; b++) {
      const length = input.textLengths[b]!;
      const hidden = input.hidden.subarray(b * imageTokens * cfg.inChannels, (b + 1) * imageTokens * cfg.inChannels);
      const encoder = input.encoder.subarray(b * textTokens * cfg.jointAttentionDim, (b * textTokens + length) * cfg.jointAttentionDim);
      const item = { hidden, batch: 1, gridH, gridW, encoder, textTokens: length, textLengths: [length], timesteps: input.timesteps.subarray(b, b + 1) };
      out.set(await this.runOne(item, loraScales, styleScales), b * imageTokens * cfg.inChannels);
    }
    return out;
  }

  private async runOne(input: TransformerInput, loraScales: readonly number[], styleScales: readonly number[]): Promise<Float32Array> {
    const { gridH, gridW, textTokens } = input;
    const cfg = this.config;
    const imageTokens = gridH * gridW;
    const t = input.timesteps[0]!;
    await this.prepareModulation([t], loraScales);
    const mod = this.modulation.get(this.modulationKey(t, loraScales))!;
    const dim = cfg.numHeads * cfg.headDim;
    const rope = this.ropeTables(gridH, gridW, textTokens);
    const half = cfg.headDim / 2;
    const feeds: Record<string, OrtTensor> = {
      hidden_states: await floatTensor(input.hidden, [1, imageTokens, cfg.inChannels]),
      encoder_hidden_states: await floatTensor(input.encoder, [1, textTokens, cfg.jointAttentionDim]),
      img_cos: await floatTensor(rope.image.cos, [imageTokens, half]),
      img_sin: await floatTensor(rope.image.sin, [imageTokens, half]),
      txt_cos: await floatTensor(rope.text.cos, [textTokens, half]),
      txt_sin: await floatTensor(rope.text.sin, [textTokens, half]),
      'mod.out': await floatTensor(mod.out, [1, 2 * dim]),
      ...Object.fromEntries(await Promise.all(mod.blocks.map(async (m, i) => [`mod.${i}`, await floatTensor(m, [1, 12 * dim])] as const))),
      ...Object.fromEntries(await Promise.all(this.loras.map(async (_, k) => [`lora_scale_${k}`, await floatTensor(Float32Array.of(loraScales[k] ?? 1), [1])] as const))),
      ...this.slotFeeds.reduce<Record<string, OrtTensor>>((all, f) => ({ ...all, ...f }), {}),
      ...Object.fromEntries(await Promise.all(this.slotFeeds.map(async (_, k) => [slotScaleName(k), await floatTensor(Float32Array.of(styleScales[k] ?? 0), [1])] as const))),
    };
    const { whole, front, tail, groups } = this.parts;
    if (whole) {
      const out = await whole.run(feeds);
      this.notePeak();
      return outputFloats(out, 'sample');
    }
    const h = await front!.run(feeds);
    let state = { [PART_IO.img]: h[PART_IO.img]!, [PART_IO.txt]: h[PART_IO.txt]! };
    for (const group of groups) {
      const out = await group.run({ ...feeds, ...state });
      this.notePeak();
      state = { [PART_IO.img]: out[PART_IO.imgNext]!, [PART_IO.txt]: out[PART_IO.txtNext]! };
      // A streamed group leaves before the next one arrives: at most the front, the tail and one group.
      await group.unload();
    }
    const out = await tail!.run({ ...feeds, ...state });
    this.notePeak();
    return outputFloats(out, 'sample');
  }

  /** Releases every session; the next run loads again (plans that hold one component at a time). The modulation cache stays. */
  async unload(): Promise<void> {
    const { whole, front, tail, groups } = this.parts;
    await Promise.all([whole, front, tail, ...groups, ...this.modulationParts].map((s) => s?.unload() ?? Promise.resolve()));
  }

  release(): Promise<void> {
    return this.unload();
  }
}
