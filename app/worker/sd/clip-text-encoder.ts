// Runs a CLIP text encoder on padded ids: the hidden state a pipeline conditions on and the pooled output.

import { floatTensor, int64Tensor, LazySession, outputFloats, type SessionConfig } from '../ort.js';
import type { Precision } from '../../shared/precision.js';
import type { GraphPrecision } from '../qwen-image/graph-ops.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { parseClipTextConfig, type ClipTextConfig } from './clip-text-config.js';
import { buildClipTextGraph, clipTextRoot, type ClipGraphOptions } from './clip-text-graph.js';
import { readConfigFile } from './config-fields.js';
import { weightStems } from './weight-files.js';

export interface ClipOutputs {
  /** [B, L, hidden]: the hidden state the graph was built to return. */
  readonly hidden: Float32Array;
  readonly pooled?: Float32Array;
  readonly textEmbeds?: Float32Array;
  readonly allHiddenStates?: Float32Array;
  readonly lastHiddenState?: Float32Array;
}

export type ClipUse = Omit<ClipGraphOptions, 'loras'>;

export class ClipTextEncoder {
  /** Strength of each LoRA side branch, fed with every run. */
  loraScales: number[];

  private constructor(
    private readonly session: LazySession,
    readonly config: ClipTextConfig,
    readonly weights: WeightSet,
    readonly use: ClipUse,
    readonly loras: readonly LoraWeights[],
    private readonly graphPrecision: GraphPrecision,
  ) {
    this.loraScales = loras.map(() => 1);
  }

  get precision(): Precision {
    return this.graphPrecision.precision ?? 'f32';
  }

  static async open(
    dir: string,
    root: string,
    label: string,
    withProjection: boolean,
    use: ClipUse,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    precision: GraphPrecision = {},
  ): Promise<ClipTextEncoder> {
    const { raw, file } = await readConfigFile(dir);
    const config = parseClipTextConfig(raw, file, withProjection);
    const weights = await openWeightSet(dir, weightStems('model'), root, label);
    return ClipTextEncoder.fromWeights(weights, config, use, session, loras, precision);
  }

  static fromWeights(
    weights: WeightSet,
    config: ClipTextConfig,
    use: ClipUse,
    session: Omit<SessionConfig, 'externalDataFolder'>,
    loras: readonly LoraWeights[] = [],
    precision: GraphPrecision = {},
  ): ClipTextEncoder {
    const graph = buildClipTextGraph(weights, config, { ...use, loras }, precision);
    const lazy = new LazySession(`${weights.label}`, graph, { ...session, precision: precision.precision ?? 'f32', externalDataFolder: clipTextRoot(weights, loras) });
    return new ClipTextEncoder(lazy, config, weights, use, loras, precision);
  }

  async load(): Promise<void> {
    await this.session.get();
  }

  unload(): Promise<void> {
    return this.session.unload();
  }

  release(): Promise<void> {
    return this.session.unload();
  }

  /** ids: [batch, tokens] row-major, already padded to the tokenizer's length. */
  async run(ids: readonly number[], batch: number): Promise<ClipOutputs> {
    const tokens = ids.length / batch;
    const out = await this.session.run({
      input_ids: await int64Tensor(BigInt64Array.from(ids, (v) => BigInt(v)), [batch, tokens]),
      ...Object.fromEntries(await Promise.all(this.loras.map(async (_, k) => [`lora_scale_${k}`, await floatTensor(Float32Array.of(this.loraScales[k] ?? 1), [1])] as const))),
    });
    const get = (name: string) => (out[name] ? outputFloats(out, name) : undefined);
    const pooled = get('pooled');
    const textEmbeds = get('text_embeds');
    const all = get('all_hidden_states');
    const last = get('last_hidden_state');
    return {
      hidden: outputFloats(out, 'hidden'),
      ...(pooled ? { pooled } : {}),
      ...(textEmbeds ? { textEmbeds } : {}),
      ...(all ? { allHiddenStates: all } : {}),
      ...(last ? { lastHiddenState: last } : {}),
    };
  }
}
