// Runs the UNet: one call per denoising step, with fixed LoRAs as strength-controlled side branches and
// style LoRAs in slots whose matrices are session inputs.

import { floatTensor, LazySession, outputFloats, type SessionConfig } from '../ort.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import { StyleSlotFeeds, type PreparedStyle, type StyleSlotLayout } from '../lora/style-slots.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { readConfigFile } from './config-fields.js';
import { parseUnetConfig, type UnetConfig } from './unet-config.js';
import { buildUnetGraph, unetRoot, unetStyleTargets } from './unet-graph.js';
import { weightStems } from './weight-files.js';
import type { GraphPrecision } from '../qwen-image/graph-ops.js';
import type { Precision } from '../../shared/precision.js';

export interface UnetInput {
  /** [batch, inChannels, h, w], already scaled by the scheduler. */
  readonly sample: Float32Array;
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  /** One timestep value per batch item. */
  readonly timesteps: Float32Array;
  /** [batch, tokens, crossAttentionDim]. */
  readonly context: Float32Array;
  readonly tokens: number;
  /** SDXL: [batch, pooled] and [batch, 6]. */
  readonly textEmbeds?: Float32Array;
  readonly timeIds?: Float32Array;
  /** LCM-distilled UNets: [batch, timeCondProjDim]. */
  readonly timestepCond?: Float32Array;
}

export class UnetModel {
  private readonly slots: StyleSlotFeeds | undefined;

  private constructor(
    private readonly session: LazySession,
    readonly config: UnetConfig,
    readonly weights: WeightSet,
    readonly loras: readonly LoraWeights[],
    readonly styleLayout: StyleSlotLayout | undefined,
    private readonly graphPrecision: GraphPrecision,
  ) {
    this.slots = styleLayout ? new StyleSlotFeeds(styleLayout, (graphPrecision.precision ?? 'f32') !== 'f32') : undefined;
  }

  /** The precision the UNet computes in (the recipe's and the non-finite guard's). */
  get precision(): Precision {
    return this.graphPrecision.precision ?? 'f32';
  }

  static async readConfig(dir: string): Promise<UnetConfig> {
    const { raw, file } = await readConfigFile(dir);
    return parseUnetConfig(raw, file);
  }

  static async openWeights(dir: string, root: string): Promise<WeightSet> {
    return openWeightSet(dir, weightStems('diffusion_pytorch_model'), root, 'UNet');
  }

  static async open(
    dir: string,
    root: string,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    styleSlots?: { count: number; rank: number },
    precision: GraphPrecision = {},
  ): Promise<UnetModel> {
    const config = await UnetModel.readConfig(dir);
    return UnetModel.fromWeights(await UnetModel.openWeights(dir, root), config, session, loras, styleSlots, precision);
  }

  static async fromWeights(
    weights: WeightSet,
    config: UnetConfig,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    styleSlots?: { count: number; rank: number },
    precision: GraphPrecision = {},
  ): Promise<UnetModel> {
    const layout = styleSlots && styleSlots.count > 0 ? { ...styleSlots, targets: unetStyleTargets(config) } : undefined;
    const graph = buildUnetGraph(weights, config, { loras, ...(layout ? { styleSlots: layout } : {}), ...precision });
    const sessionConfig = { ...session, precision: precision.precision ?? 'f32', externalDataFolder: unetRoot(weights, loras) };
    const model = new UnetModel(new LazySession('UNet', graph, sessionConfig), config, weights, loras, layout, precision);
    for (let k = 0; k < (layout?.count ?? 0); k++) await model.setStyle(k, undefined);
    return model;
  }

  async load(): Promise<void> {
    await this.session.get();
  }

  /** Puts a prepared style LoRA in slot k (undefined empties it); only tensors change. */
  async setStyle(slot: number, style: PreparedStyle | undefined): Promise<void> {
    if (!this.slots) throw new RangeError(`no style slot ${slot}`);
    await this.slots.set(slot, style);
  }

  /** `loraScales[k]`: strength of fixed LoRA k (default 1); `styleScales[k]`: of style slot k (default 0). */
  async run(input: UnetInput, loraScales: readonly number[] = [], styleScales: readonly number[] = []): Promise<Float32Array> {
    const cfg = this.config;
    const { batch } = input;
    const feeds = {
      sample: await floatTensor(input.sample, [batch, cfg.inChannels, input.height, input.width]),
      timestep: await floatTensor(input.timesteps, [batch]),
      encoder_hidden_states: await floatTensor(input.context, [batch, input.tokens, cfg.crossAttentionDim]),
      ...(cfg.addTime
        ? {
            text_embeds: await floatTensor(required(input.textEmbeds, 'text_embeds'), [batch, cfg.addTime.textEmbedDim]),
            time_ids: await floatTensor(required(input.timeIds, 'time_ids'), [batch, 6]),
          }
        : {}),
      ...(cfg.timeCondProjDim ? { timestep_cond: await floatTensor(required(input.timestepCond, 'timestep_cond'), [batch, cfg.timeCondProjDim]) } : {}),
      ...Object.fromEntries(await Promise.all(this.loras.map(async (_, k) => [`lora_scale_${k}`, await floatTensor(Float32Array.of(loraScales[k] ?? 1), [1])] as const))),
      ...(this.slots ? await this.slots.feeds(styleScales) : {}),
    };
    return outputFloats(await this.session.run(feeds), 'noise_pred');
  }

  unload(): Promise<void> {
    return this.session.unload();
  }

  release(): Promise<void> {
    return this.session.unload();
  }
}

function required(value: Float32Array | undefined, name: string): Float32Array {
  if (!value) throw new Error(`this UNet needs ${name}`);
  return value;
}
