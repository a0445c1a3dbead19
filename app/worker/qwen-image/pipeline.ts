// The Qwen-Image text-to-image pipeline: prompt embeddings, flow-matching Euler steps with optional true
// CFG, then VAE decoding; every stage checked against diffusers' QwenImagePipeline.

import type { SamplerSettings } from '../../shared/generation.js';
import { flowMatchSchedule } from '../../shared/flow-match.js';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { countNonFinite } from '../pixels.js';
import { denormalizeLatents, trueCfg, unpackLatents } from './latents.js';
import type { PromptEmbeds, QwenTextEncoder } from './text-encoder-model.js';
import type { QwenTransformer } from './transformer-model.js';
import type { QwenVae } from './vae-model.js';
import { decodeTiled, type TileGrid } from './vae-tiles.js';

export interface DenoiseOptions {
  readonly prompt: PromptEmbeds;
  /** With a scale above 1, the negative branch runs too (two transformer calls per step). */
  readonly negative?: PromptEmbeds;
  readonly trueCfgScale: number;
  /** Packed initial latents [1, tokens, 64]. */
  readonly latents: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly sampler: SamplerSettings;
  /** Strength of each fixed LoRA the transformer was opened with. */
  readonly loraScales?: readonly number[];
  /** Strength of each style slot. */
  readonly styleScales?: readonly number[];
  readonly onStep?: (step: number, latents: Float32Array) => void;
  readonly signal?: AbortSignal;
}

export interface DenoiseTrace {
  readonly latents: Float32Array;
  readonly sigmas: readonly number[];
  readonly condPredictions: Float32Array[];
  readonly uncondPredictions: Float32Array[];
}

export class QwenImagePipeline {
  constructor(
    private currentTextEncoder: QwenTextEncoder,
    private current: QwenTransformer,
    readonly vae: QwenVae,
  ) {}

  get textEncoder(): QwenTextEncoder {
    return this.currentTextEncoder;
  }

  /** Swaps the text encoder session (LoRAs that patch it changed); the old one is released. */
  async replaceTextEncoder(next: QwenTextEncoder): Promise<void> {
    const old = this.currentTextEncoder;
    this.currentTextEncoder = next;
    await old.release();
  }

  get transformer(): QwenTransformer {
    return this.current;
  }

  /** Swaps the transformer session (a different speed LoRA); the old one is released. */
  async replaceTransformer(next: QwenTransformer): Promise<void> {
    const old = this.current;
    this.current = next;
    await old.release();
  }

  /** Creates every session now (the all-resident plan). */
  async load(): Promise<void> {
    await this.textEncoder.load();
    await this.transformer.load();
    await this.vae.load();
  }

  encodePrompt(ids: readonly number[]): Promise<PromptEmbeds> {
    return this.textEncoder.promptEmbeds(ids, ids.map(() => 1), 1);
  }

  async denoise(o: DenoiseOptions): Promise<DenoiseTrace> {
    const schedule = flowMatchSchedule(o.steps, o.width, o.height, o.sampler);
    const gridH = o.height / 16;
    const gridW = o.width / 16;
    const latents = Float32Array.from(o.latents);
    const useCfg = o.trueCfgScale > 1 && o.negative !== undefined;
    const condPredictions: Float32Array[] = [];
    const uncondPredictions: Float32Array[] = [];
    const predict = (p: PromptEmbeds, sigma: number) =>
      this.transformer.run({
        hidden: latents,
        batch: 1,
        gridH,
        gridW,
        encoder: p.embeds,
        textTokens: p.maxLength,
        textLengths: p.lengths,
        timesteps: Float32Array.of(sigma),
      }, o.loraScales, o.styleScales);
    for (let i = 0; i < o.steps; i++) {
      // Messages (a cancel) are handled between steps: session.run blocks this thread while it runs.
      await new Promise((r) => setImmediate(r));
      if (o.signal?.aborted) throw new StudioError('cancelled', notice('error.cancelled'));
      const sigma = schedule.sigmas[i]!;
      const t = Math.fround(schedule.timesteps[i]! / 1000);
      const cond = await predict(o.prompt, t);
      condPredictions.push(cond);
      let v = cond;
      if (useCfg) {
        const uncond = await predict(o.negative, t);
        uncondPredictions.push(uncond);
        v = trueCfg(cond, uncond, o.trueCfgScale, this.transformer.config.inChannels);
      }
      const dt = Math.fround(schedule.sigmas[i + 1]! - sigma);
      for (let j = 0; j < latents.length; j++) latents[j] = Math.fround(latents[j]! + Math.fround(dt * v[j]!));
      const bad = countNonFinite(latents);
      if (bad > 0) {
        throw new StudioError('inference-failed', notice('error.stepInvalid', { step: i + 1, count: bad }));
      }
      o.onStep?.(i + 1, latents);
    }
    return { latents, sigmas: schedule.sigmas, condPredictions, uncondPredictions };
  }

  /** Packed latents -> VAE input z, raw decoder output in [-1, 1] (whole, or blended from tiles) and the image in [0, 1] (planar RGB). */
  async decode(packed: Float32Array, width: number, height: number, tiles?: TileGrid): Promise<{ z: Float32Array; decoded: Float32Array; image: Float32Array }> {
    const cfg = this.vae.config;
    const h = height / this.vae.scale;
    const w = width / this.vae.scale;
    const z = denormalizeLatents(unpackLatents(packed, cfg.zDim, h, w), cfg.latentsMean, cfg.latentsStd, h * w);
    const decoded = tiles
      ? await decodeTiled(z, cfg.zDim, h, w, this.vae.scale, 3, tiles, (tile, th, tw) => this.vae.decode(tile, 1, th, tw))
      : await this.vae.decode(z, 1, h, w);
    const bad = countNonFinite(decoded);
    if (bad > 0) throw new StudioError('inference-failed', notice('error.vaeInvalid', { count: bad }));
    const image = decoded.map((x) => Math.min(1, Math.max(0, x / 2 + 0.5)));
    return { z, decoded, image };
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.transformer.release(), this.vae.release()]);
  }
}
