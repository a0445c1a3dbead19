// Runs the VAE: decodes latents to pixels and encodes pixels to latents, one frame at a time.

import { floatTensor, LazySession, outputFloats, type SessionConfig } from '../ort.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { vaeScale, type VaeConfig } from './vae-config.js';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from './vae-graph.js';
import type { GraphPrecision } from './graph-ops.js';
import type { Precision } from '../../shared/precision.js';

export class QwenVae {
  private encoder: LazySession | undefined;

  private constructor(
    private readonly weights: WeightSet,
    private readonly decoder: LazySession,
    private readonly session: Omit<SessionConfig, 'externalDataFolder'>,
    readonly config: VaeConfig,
    private readonly graphPrecision: GraphPrecision,
  ) {}

  get precision(): Precision {
    return this.graphPrecision.precision ?? 'f32';
  }

  /** Sessions are made on first use; the encoder only for image input (text-to-image never needs it). */
  static open(weights: WeightSet, config: VaeConfig, session: Omit<SessionConfig, 'externalDataFolder'>, precision: GraphPrecision = {}): Promise<QwenVae> {
    const decoder = new LazySession('VAE decoder', buildVaeDecoderGraph(weights, config, precision), { ...session, externalDataFolder: weights.root });
    return Promise.resolve(new QwenVae(weights, decoder, session, config, precision));
  }

  async load(): Promise<void> {
    await this.decoder.get();
  }

  /** z [batch, zDim, h, w] (the VAE's own latent space) -> [batch, 3, 8h, 8w] in [-1, 1]. */
  async decode(z: Float32Array, batch: number, h: number, w: number): Promise<Float32Array> {
    const out = await this.decoder.run({ z: await floatTensor(z, [batch, this.config.zDim, h, w]) });
    return outputFloats(out, 'sample');
  }

  async encode(image: Float32Array, batch: number, height: number, width: number): Promise<{ mean: Float32Array; logvar: Float32Array }> {
    this.encoder ??= new LazySession('VAE encoder', buildVaeEncoderGraph(this.weights, this.config, this.graphPrecision), { ...this.session, externalDataFolder: this.weights.root });
    const out = await this.encoder.run({ image: await floatTensor(image, [batch, 3, height, width]) });
    return { mean: outputFloats(out, 'mean'), logvar: outputFloats(out, 'logvar') };
  }

  get scale(): number {
    return vaeScale(this.config);
  }

  /** Releases the sessions; the next decode loads again. */
  async release(): Promise<void> {
    await Promise.all([this.decoder.unload(), this.encoder?.unload()]);
  }

  unload(): Promise<void> {
    return this.release();
  }
}
