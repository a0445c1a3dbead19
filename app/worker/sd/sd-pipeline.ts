// The Stable Diffusion text-to-image and image-to-image pipelines (SD 1.x/2.x layout with one CLIP encoder,
// SDXL with two and size conditioning): prompt conditioning, discrete-time sampling with optional
// classifier-free guidance, VAE decoding, and VAE encoding of an input image. Every stage is checked
// against diffusers' StableDiffusionPipeline / StableDiffusionXLPipeline by the fixtures.
//
// Half precision is guarded: a component whose output holds NaN or infinite values is opened again in a
// safer precision (sd-precision), run again, and the job is told with a notice; nothing invalid reaches the
// latents or the image. Without a safer precision the job fails with a clear error, never a black image.

import { discreteSchedule, type DiscreteSamplerSettings } from '../../shared/discrete-samplers.js';
import { notice, type Notice } from '../../shared/notices.js';
import type { Precision } from '../../shared/precision.js';
import { saferPrecision, saferVaePrecision } from './sd-precision.js';
import { StudioError } from '../../shared/result.js';
import { countNonFinite } from '../pixels.js';
import type { AutoencoderKl } from './autoencoder-kl.js';
import type { ClipTextEncoder } from './clip-text-encoder.js';
import { concatChannels, zeroPrompt, type SdPrompt } from './prompt-embeds.js';
import { DiscreteSampler } from './sampler-steps.js';
import type { UnetModel } from './unet-model.js';

const f32 = Math.fround;

/** SDXL's size conditioning, in pixels, height before width. */
export interface SizeConditioning {
  readonly originalSize: readonly [number, number];
  readonly cropsTopLeft: readonly [number, number];
  readonly targetSize: readonly [number, number];
}

export interface SdDenoiseOptions {
  readonly prompt: SdPrompt;
  /** Used when guidance is on: the encoded negative prompt, or (SDXL, empty negative) zeros. */
  readonly negative?: SdPrompt;
  readonly guidance: number;
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly sampler: DiscreteSamplerSettings;
  /** Unit-variance noise of the latent shape (the first draw of the seed). */
  readonly noise: Float32Array;
  /** Draws the sampler's per-step noise (Euler ancestral, LCM), in order. */
  readonly drawNoise: (count: number) => Float32Array;
  /** Image-to-image: the input image's scaled latents and how much of the schedule to run. */
  readonly image?: { readonly latents: Float32Array; readonly strength: number };
  readonly size?: SizeConditioning;
  readonly loraScales?: readonly number[];
  readonly styleScales?: readonly number[];
  readonly onStep?: (step: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface SdTrace {
  readonly latents: Float32Array;
  readonly initialLatents: Float32Array;
  readonly timesteps: readonly number[];
  readonly timeIds: Float32Array | undefined;
  readonly unetInputs: Float32Array[];
  readonly unetOutputs: Float32Array[];
  readonly latentsPerStep: Float32Array[];
}

/** LCM-distilled UNets condition on the guidance scale: sinusoids of (w - 1) * 1000. */
export function guidanceEmbedding(guidance: number, dim: number): Float32Array {
  const half = Math.floor(dim / 2);
  const w = f32((guidance - 1) * 1000);
  const step = f32(Math.log(10000) / (half - 1));
  const out = new Float32Array(dim);
  for (let i = 0; i < half; i++) {
    const arg = f32(w * f32(Math.exp(f32(-i * step))));
    out[i] = Math.sin(arg);
    out[half + i] = Math.cos(arg);
  }
  return out;
}

/** Opens a component again in another precision, for the non-finite guard (LoRAs and slots kept). */
export interface SdFallback {
  /** The precisions the provider can run. */
  readonly available: readonly Precision[];
  readonly reopenTextEncoders: (precision: Precision) => Promise<{ first: ClipTextEncoder; second?: ClipTextEncoder }>;
  readonly reopenUnet: (precision: Precision) => Promise<UnetModel>;
  readonly reopenVae: (precision: Precision) => Promise<AutoencoderKl>;
}

/** How notes name the denoiser (a technical name, left untranslated). */
const DENOISER = 'UNet';

export class SdPipeline {
  /** Told when a component was run again in a safer precision. */
  onNote: (n: Notice) => void = () => undefined;

  constructor(
    private currentTextEncoder: ClipTextEncoder,
    private currentTextEncoder2: ClipTextEncoder | undefined,
    private currentUnet: UnetModel,
    private currentVae: AutoencoderKl,
    private readonly fallback?: SdFallback,
  ) {}

  get vae(): AutoencoderKl {
    return this.currentVae;
  }

  async replaceVae(next: AutoencoderKl): Promise<void> {
    const old = this.currentVae;
    this.currentVae = next;
    await old.release();
  }

  /** The precision the text encoders were run again from: the first in half precision (the larger last). */
  private get textPrecision(): Precision {
    return [this.currentTextEncoder2, this.currentTextEncoder].find((e) => e && e.precision !== 'f32')?.precision ?? 'f32';
  }

  /** The safer precision after `bad` invalid values, with a note; a clear failure when there is none. */
  private safer(to: Precision | undefined, from: Precision, bad: number, note: 'note.textEncoderRerun' | 'note.denoiserRerun' | 'note.vaeRerun', failure: Notice): Precision {
    if (!to) throw new StudioError('inference-failed', failure, `${note} ${from}: ${bad} non-finite values`);
    this.onNote(notice(note, { from, to, count: bad, ...(note === 'note.denoiserRerun' ? { denoiser: DENOISER } : {}) }));
    return to;
  }

  get textEncoder(): ClipTextEncoder {
    return this.currentTextEncoder;
  }

  get textEncoder2(): ClipTextEncoder | undefined {
    return this.currentTextEncoder2;
  }

  get unet(): UnetModel {
    return this.currentUnet;
  }

  /** SDXL: two encoders and text_time conditioning. */
  get isXl(): boolean {
    return this.currentTextEncoder2 !== undefined;
  }

  async replaceUnet(next: UnetModel): Promise<void> {
    const old = this.currentUnet;
    this.currentUnet = next;
    await old.release();
  }

  async replaceTextEncoders(next: ClipTextEncoder, next2: ClipTextEncoder | undefined): Promise<void> {
    const old = [this.currentTextEncoder, this.currentTextEncoder2].filter((e): e is ClipTextEncoder => e !== undefined);
    this.currentTextEncoder = next;
    this.currentTextEncoder2 = next2;
    await Promise.all(old.map((e) => e.release()));
  }

  async load(): Promise<void> {
    await this.textEncoder.load();
    await this.textEncoder2?.load();
    await this.unet.load();
    await this.vae.load();
  }

  async unloadTextEncoders(): Promise<void> {
    await Promise.all([this.textEncoder.unload(), this.textEncoder2?.unload()]);
  }

  /**
   * Prompt conditioning from padded ids (`ids2` for SDXL's second tokenizer, which pads differently):
   * SDXL joins both encoders' penultimate hidden states and takes the pooled projection of the second;
   * SD 1.x/2.x use the normed last hidden state.
   */
  async encodePrompt(ids: readonly number[], ids2?: readonly number[], batch = 1): Promise<SdPrompt> {
    for (;;) {
      const prompt = await this.encodePromptOnce(ids, ids2, batch);
      const bad = countNonFinite(prompt.embeds) + (prompt.pooled ? countNonFinite(prompt.pooled) : 0);
      if (bad === 0) return prompt;
      const from = this.textPrecision;
      const to = this.safer(this.fallback && saferPrecision(from, this.fallback.available), from, bad, 'note.textEncoderRerun', notice('error.textEncoderNonFinite', { count: bad }));
      const scales = [...this.textEncoder.loraScales];
      const next = await this.fallback!.reopenTextEncoders(to);
      next.first.loraScales = scales;
      if (next.second) next.second.loraScales = scales;
      await this.replaceTextEncoders(next.first, next.second);
    }
  }

  private async encodePromptOnce(ids: readonly number[], ids2: readonly number[] | undefined, batch: number): Promise<SdPrompt> {
    const tokens = ids.length / batch;
    const o1 = await this.textEncoder.run(ids, batch);
    const te2 = this.textEncoder2;
    if (!te2) return { embeds: o1.hidden, tokens, channels: this.textEncoder.config.hidden };
    if (!ids2) throw new Error('SDXL needs the ids of both tokenizers');
    const o2 = await te2.run(ids2, batch);
    const h1 = this.textEncoder.config.hidden;
    const h2 = te2.config.hidden;
    if (!o2.textEmbeds) throw new Error('text_encoder_2 has no text projection');
    return { embeds: concatChannels(o1.hidden, h1, o2.hidden, h2, batch * tokens), tokens, channels: h1 + h2, pooled: o2.textEmbeds };
  }

  /** [original h, w, crop top, left, target h, w] */
  timeIds(width: number, height: number, size?: SizeConditioning): Float32Array {
    const s = size ?? { originalSize: [height, width], cropsTopLeft: [0, 0], targetSize: [height, width] };
    return Float32Array.of(...s.originalSize, ...s.cropsTopLeft, ...s.targetSize);
  }

  /** Whether guidance runs a second (unconditional) UNet row: only for scales above 1 on UNets without an LCM guidance input. */
  usesCfg(guidance: number): boolean {
    return guidance > 1 && this.unet.config.timeCondProjDim === undefined;
  }

  /** One UNet call, run again in a safer precision while it gives invalid values. */
  private async predict(input: Parameters<UnetModel['run']>[0], loraScales: readonly number[] | undefined, styleScales: readonly number[] | undefined, step: number): Promise<Float32Array> {
    for (;;) {
      const out = await this.unet.run(input, loraScales, styleScales);
      const bad = countNonFinite(out);
      if (bad === 0) return out;
      const from = this.unet.precision;
      const to = this.safer(this.fallback && saferPrecision(from, this.fallback.available), from, bad, 'note.denoiserRerun', notice('error.nonFiniteStep', { step, count: bad }));
      await this.replaceUnet(await this.fallback!.reopenUnet(to));
    }
  }

  async denoise(o: SdDenoiseOptions): Promise<SdTrace> {
    const unet = this.unet;
    const scale = this.vae.scale;
    const h = o.height / scale;
    const w = o.width / scale;
    const channels = unet.config.inChannels;
    const size = channels * h * w;
    const schedule = discreteSchedule(o.steps, o.sampler, o.image?.strength ?? 1);
    const sampler = new DiscreteSampler(o.sampler, schedule);
    let latents = o.image ? sampler.noisedImage(o.image.latents, o.noise) : sampler.initialLatents(o.noise);
    const initialLatents = latents;
    const cfg = this.usesCfg(o.guidance);
    const negative = o.negative ?? zeroPrompt(o.prompt);
    if (cfg && (negative.tokens !== o.prompt.tokens || negative.channels !== o.prompt.channels)) throw new Error('the negative prompt must have the prompt conditioning shape');
    const rows = cfg ? 2 : 1;
    const context = cfg ? concatRows(negative.embeds, o.prompt.embeds) : o.prompt.embeds;
    const ids = this.isXl ? this.timeIds(o.width, o.height, o.size) : undefined;
    const textEmbeds = this.isXl ? (cfg ? concatRows(negative.pooled!, o.prompt.pooled!) : o.prompt.pooled!) : undefined;
    const timeIds = ids ? (cfg ? concatRows(ids, ids) : ids) : undefined;
    const condDim = unet.config.timeCondProjDim;
    const timestepCond = condDim ? guidanceEmbedding(o.guidance, condDim) : undefined;
    const trace: SdTrace = { latents, initialLatents, timesteps: schedule.timesteps, timeIds: ids, unetInputs: [], unetOutputs: [], latentsPerStep: [] };
    for (let i = 0; i < sampler.steps; i++) {
      // Messages (a cancel) are handled between steps: session.run blocks this thread while it runs.
      await new Promise((r) => setImmediate(r));
      if (o.signal?.aborted) throw new StudioError('cancelled', notice('error.cancelled'));
      const input = sampler.scaleInput(latents, i);
      const sample = cfg ? concatRows(input, input) : input;
      const t = sampler.timestep(i);
      const out = await this.predict(
        {
          sample,
          batch: rows,
          height: h,
          width: w,
          timesteps: new Float32Array(rows).fill(t),
          context,
          tokens: o.prompt.tokens,
          ...(textEmbeds ? { textEmbeds } : {}),
          ...(timeIds ? { timeIds } : {}),
          ...(timestepCond ? { timestepCond: cfg ? concatRows(timestepCond, timestepCond) : timestepCond } : {}),
        },
        o.loraScales,
        o.styleScales,
        i + 1,
      );
      trace.unetInputs.push(sample);
      trace.unetOutputs.push(out);
      let eps = out;
      if (cfg) {
        eps = new Float32Array(size);
        for (let j = 0; j < size; j++) eps[j] = f32(out[j]! + f32(o.guidance * f32(out[size + j]! - out[j]!)));
      }
      const noise = sampler.drawsNoise(i) ? o.drawNoise(size) : undefined;
      latents = sampler.step(eps, i, latents, noise).prev;
      const bad = countNonFinite(latents);
      if (bad > 0) throw new StudioError('inference-failed', notice('error.latentsInvalid', { step: i + 1, count: bad }));
      trace.latentsPerStep.push(latents);
      o.onStep?.(i + 1, sampler.steps);
    }
    return { ...trace, latents };
  }

  /** Latents -> VAE input z, raw decoder output, and the image in [0, 1] (planar RGB). */
  async decode(latents: Float32Array, width: number, height: number): Promise<{ z: Float32Array; decoded: Float32Array; image: Float32Array }> {
    const { scalingFactor, shiftFactor } = this.vae.config;
    const sf = f32(scalingFactor);
    const z = latents.map((v) => f32(f32(v / sf) + shiftFactor));
    let decoded: Float32Array;
    for (;;) {
      decoded = await this.vae.decode(z, 1, height / this.vae.scale, width / this.vae.scale);
      const bad = countNonFinite(decoded);
      if (bad === 0) break;
      await this.saferVae(bad);
    }
    const image = decoded.map((x) => Math.min(1, Math.max(0, f32(f32(x / 2) + 0.5))));
    return { z, decoded, image };
  }

  /**
   * An input image (planar RGB in [-1, 1]) -> scaled latents for image-to-image: a sample of the VAE's
   * latent distribution (mean + std * noise, the pipelines' default) times the scaling factor.
   */
  async encodeImage(pixels: Float32Array, width: number, height: number, noise: Float32Array): Promise<Float32Array> {
    let moments: { mean: Float32Array; logvar: Float32Array };
    for (;;) {
      moments = await this.vae.encode(pixels, 1, height, width);
      const bad = countNonFinite(moments.mean) + countNonFinite(moments.logvar);
      if (bad === 0) break;
      await this.saferVae(bad);
    }
    const { mean, logvar } = moments;
    const { scalingFactor, shiftFactor } = this.vae.config;
    const sf = f32(scalingFactor);
    return mean.map((m, i) => f32(f32(f32(m + f32(f32(Math.exp(f32(0.5 * logvar[i]!))) * noise[i]!)) - shiftFactor) * sf));
  }

  /** The VAE again in float32 after `bad` invalid values, or the clear failure. */
  private async saferVae(bad: number): Promise<void> {
    const from = this.vae.precision;
    const to = this.safer(this.fallback && saferVaePrecision(from, this.fallback.available), from, bad, 'note.vaeRerun', notice('error.vaeInvalid', { count: bad }));
    await this.replaceVae(await this.fallback!.reopenVae(to));
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.textEncoder2?.release(), this.unet.release(), this.vae.release()]);
  }
}

function concatRows(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
