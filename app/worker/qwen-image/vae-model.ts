// Runs the VAE: decodes latents to pixels and encodes pixels to latents, one frame at a time.

import { createSession, floatTensor, outputFloats, release, run, type Session, type SessionConfig } from '../ort.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { vaeScale, type VaeConfig } from './vae-config.js';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from './vae-graph.js';

export class QwenVae {
  private encoder: Session | undefined;

  private constructor(
    private readonly weights: WeightSet,
    private readonly decoder: Session,
    private readonly session: Omit<SessionConfig, 'externalDataFolder'>,
    readonly config: VaeConfig,
  ) {}

  /** Opens the decoder; the encoder is built on first use (text-to-image never needs it). */
  static async open(weights: WeightSet, config: VaeConfig, session: Omit<SessionConfig, 'externalDataFolder'>): Promise<QwenVae> {
    const decoder = await createSession(buildVaeDecoderGraph(weights, config), { ...session, externalDataFolder: weights.root });
    return new QwenVae(weights, decoder, session, config);
  }

  /** z [batch, zDim, h, w] (the VAE's own latent space) -> [batch, 3, 8h, 8w] in [-1, 1]. */
  async decode(z: Float32Array, batch: number, h: number, w: number): Promise<Float32Array> {
    const out = await run(this.decoder, 'VAE decoder', { z: await floatTensor(z, [batch, this.config.zDim, h, w]) });
    return outputFloats(out, 'sample');
  }

  async encode(image: Float32Array, batch: number, height: number, width: number): Promise<{ mean: Float32Array; logvar: Float32Array }> {
    this.encoder ??= await createSession(buildVaeEncoderGraph(this.weights, this.config), { ...this.session, externalDataFolder: this.weights.root });
    const out = await run(this.encoder, 'VAE encoder', { image: await floatTensor(image, [batch, 3, height, width]) });
    return { mean: outputFloats(out, 'mean'), logvar: outputFloats(out, 'logvar') };
  }

  get scale(): number {
    return vaeScale(this.config);
  }

  async release(): Promise<void> {
    await Promise.all([release(this.decoder), release(this.encoder)]);
  }
}
