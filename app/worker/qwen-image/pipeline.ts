// The Qwen-Image text-to-image pipeline: prompt embeddings, flow-matching Euler steps with optional true
// CFG, then VAE decoding; every stage checked against diffusers' QwenImagePipeline.
//
// Half precision is guarded: a component whose output is not finite is opened again in a safer precision
// (see saferPrecision), run again, and the job is told; nothing invalid reaches the latents or the image.

import { flowMatchSchedule, type FlowMatchSamplerSettings } from '../../shared/flow-match.js';
import { StudioError } from '../../shared/result.js';
import { notice, type Notice } from '../../shared/notices.js';
import { saferPrecision, type Precision } from '../../shared/precision.js';
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
  readonly sampler: FlowMatchSamplerSettings;
  /** Strength of each fixed LoRA the transformer was opened with. */
  readonly loraScales?: readonly number[];
  /** Strength of each style slot. */
  readonly styleScales?: readonly number[];
  readonly onStep?: (step: number, latents: Float32Array) => void;
  /** Hears each step's velocity predictions (the fixture checks compare them); nothing keeps them otherwise. */
  readonly onPrediction?: (step: number, cond: Float32Array, uncond: Float32Array | undefined) => void;
  readonly signal?: AbortSignal;
}

export type PipelineComponent = 'text-encoder' | 'transformer' | 'vae';

const FALLBACK_NOTE = { 'text-encoder': 'note.textEncoderRerun', transformer: 'note.transformerRerun', vae: 'note.vaeRerun' } as const;

/** Opens a component again in another precision, for the non-finite guard. */
export interface PrecisionFallback {
  /** The precisions the provider can run. */
  readonly available: readonly Precision[];
  readonly reopenTextEncoder: (precision: Precision) => Promise<QwenTextEncoder>;
  readonly reopenTransformer: (precision: Precision) => Promise<QwenTransformer>;
  readonly reopenVae: (precision: Precision) => Promise<QwenVae>;
}

export class QwenImagePipeline {
  /** Told when a component was run again in a safer precision. */
  onNote: (n: Notice) => void = () => undefined;

  constructor(
    private currentTextEncoder: QwenTextEncoder,
    private current: QwenTransformer,
    private currentVae: QwenVae,
    private readonly fallback?: PrecisionFallback,
  ) {}

  get textEncoder(): QwenTextEncoder {
    return this.currentTextEncoder;
  }

  get vae(): QwenVae {
    return this.currentVae;
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

  /**
   * The safer precision to run a component in after a non-finite output, or a clear failure. `bad` counts
   * the invalid values; `what` says what was being made.
   */
  private saferOrFail(component: PipelineComponent, from: Precision, bad: number, failure: Notice): Precision {
    const to = this.fallback ? saferPrecision(from, this.fallback.available) : undefined;
    if (!to) throw new StudioError('inference-failed', failure, `${component} ${from}: ${bad} non-finite values`);
    this.onNote(notice(FALLBACK_NOTE[component], { from, to, count: bad }));
    return to;
  }

  async encodePrompt(ids: readonly number[]): Promise<PromptEmbeds> {
    for (;;) {
      const embeds = await this.textEncoder.promptEmbeds(ids, ids.map(() => 1), 1);
      const bad = countNonFinite(embeds.embeds);
      if (bad === 0) return embeds;
      const to = this.saferOrFail('text-encoder', this.textEncoder.precision, bad, notice('error.textEncoderNonFinite', { count: bad }));
      await this.replaceTextEncoder(await this.fallback!.reopenTextEncoder(to));
    }
  }

  /** One transformer call, run again in a safer precision while it gives non-finite values. */
  private async predict(run: () => Promise<Float32Array>, step: number): Promise<Float32Array> {
    for (;;) {
      const v = await run();
      const bad = countNonFinite(v);
      if (bad === 0) return v;
      const to = this.saferOrFail('transformer', this.transformer.precision, bad, notice('error.nonFiniteStep', { step, count: bad }));
      await this.replaceTransformer(await this.fallback!.reopenTransformer(to));
    }
  }

  async denoise(o: DenoiseOptions): Promise<Float32Array> {
    const schedule = flowMatchSchedule(o.steps, o.width, o.height, o.sampler);
    const gridH = o.height / 16;
    const gridW = o.width / 16;
    const latents = Float32Array.from(o.latents);
    const useCfg = o.trueCfgScale > 1 && o.negative !== undefined;
    const timesteps = schedule.timesteps.slice(0, o.steps).map((t) => Math.fround(t / 1000));
    // Every step's modulation in one pass, before the blocks load: its weights are never held with them.
    await this.transformer.prepareModulation(timesteps, o.loraScales);
    const run = (p: PromptEmbeds, sigma: number) => () =>
      this.transformer.run(
        { hidden: latents, batch: 1, gridH, gridW, encoder: p.embeds, textTokens: p.maxLength, textLengths: p.lengths, timesteps: Float32Array.of(sigma) },
        o.loraScales,
        o.styleScales,
      );
    for (let i = 0; i < o.steps; i++) {
      // Messages (a cancel) are handled between steps: session.run blocks this thread while it runs.
      await new Promise((r) => setImmediate(r));
      if (o.signal?.aborted) throw new StudioError('cancelled', notice('error.cancelled'));
      const sigma = schedule.sigmas[i]!;
      const t = timesteps[i] ?? 0;
      const cond = await this.predict(run(o.prompt, t), i + 1);
      const uncond = useCfg ? await this.predict(run(o.negative, t), i + 1) : undefined;
      o.onPrediction?.(i + 1, cond, uncond);
      const v = uncond ? trueCfg(cond, uncond, o.trueCfgScale, this.transformer.config.inChannels) : cond;
      const dt = Math.fround(schedule.sigmas[i + 1]! - sigma);
      for (let j = 0; j < latents.length; j++) latents[j] = Math.fround(latents[j]! + Math.fround(dt * v[j]!));
      const bad = countNonFinite(latents);
      if (bad > 0) throw new StudioError('inference-failed', notice('error.nonFiniteStep', { step: i + 1, count: bad }));
      o.onStep?.(i + 1, latents);
    }
    return latents;
  }

  /** Packed latents -> the image in [0, 1] (planar RGB), decoded whole or blended from tiles. */
  async decode(packed: Float32Array, width: number, height: number, tiles?: TileGrid): Promise<Float32Array> {
    const cfg = this.vae.config;
    const h = height / this.vae.scale;
    const w = width / this.vae.scale;
    const z = denormalizeLatents(unpackLatents(packed, cfg.zDim, h, w), cfg.latentsMean, cfg.latentsStd, h * w);
    for (;;) {
      const vae = this.vae;
      const decoded = tiles ? await decodeTiled(z, cfg.zDim, h, w, vae.scale, 3, tiles, (tile, th, tw) => vae.decode(tile, 1, th, tw)) : await vae.decode(z, 1, h, w);
      const bad = countNonFinite(decoded);
      if (bad === 0) return decoded.map((x) => Math.min(1, Math.max(0, x / 2 + 0.5)));
      const to = this.saferOrFail('vae', vae.precision, bad, notice('error.vaeNonFinite', { count: bad }));
      const next = await this.fallback!.reopenVae(to);
      this.currentVae = next;
      await vae.release();
    }
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.transformer.release(), this.vae.release()]);
  }
}
