// Text to image and image to image with a Stable Diffusion folder (SDXL-Turbo / SDXL with LCM-LoRA /
// SD-Turbo layouts): tokenizers, prompt conditioning, LoRAs (speed LoRAs as side branches, styles in slots),
// sampling with noise from the seed's stream, decoding to 8-bit pixels.

import { ProviderUse } from '../provider-use.js';
import { join } from 'node:path';
import { discreteSamplerFromConfig, type DiscreteSamplerSettings } from '../../shared/discrete-samplers.js';
import type { FamilyInfo } from '../../shared/model-families.js';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import type { SamplerSettings } from '../../shared/samplers.js';
import { oneAtATime, type ExecutionChoice } from '../../shared/vram-plan.js';
import type { WorkerLora } from '../../shared/worker-protocol.js';
import type { FamilyRunner, GenerateJob, GeneratedImage, SessionOptions, StepProgress } from '../family-runner.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import { prepareStyle, type PreparedStyle } from '../lora/style-slots.js';
import { withComponents, type ModelFolder } from '../model-folder.js';
import { NoiseStream } from '../noise.js';
import { floatImageToRgb } from '../pixels.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import type { ClipTextEncoder as ClipTextEncoderType } from './clip-text-encoder.js';
import { configError, readConfigFile } from './config-fields.js';
import { loadSdLoraFile, openSdPipeline, openTextEncoders, targetOf, type Opened, type SdPrecisions } from './sd-components.js';
import type { SdLoraParts } from './sd-lora.js';
import type { SdFallback, SdPipeline } from './sd-pipeline.js';
import { UnetModel } from './unet-model.js';
import { unetStyleTargets } from './unet-graph.js';
import { AutoencoderKl } from './autoencoder-kl.js';
import { defaultPrecision, providerPrecisions, type Precision } from '../../shared/precision.js';
import type { Notice } from '../../shared/notices.js';

/** Style slots hold LoRAs up to this rank without a rebuild (a larger one grows them). */
export const SD_STYLE_SLOT_RANK = 32;
const MAX_PREPARED_STYLES = 4;

const BASE = ['unet', 'textEncoder', 'vae', 'tokenizer', 'scheduler'] as const;
type SdFolder = ModelFolder<(typeof BASE)[number]>;

/** Planar RGB in [-1, 1] from interleaved 8-bit RGB: what the VAE encoder takes. */
export function rgbToPlanar(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = (rgb[i * 3 + c]! / 255) * 2 - 1;
  return out;
}

export class SdRunner implements FamilyRunner {
  /** Files of the LoRAs patched into the current UNet session as fixed side branches, in order. */
  private unetFixed: string[] = [];
  private slots = { count: 0, rank: SD_STYLE_SLOT_RANK };
  private readonly styles = new Map<string, PreparedStyle>();
  /** Files of the LoRAs patched into the current text encoder sessions, in order. */
  private textFixed: string[] = [];
  /** The LoRA parts the current sessions carry (what a component reopened in a safer precision keeps). */
  private unetParts: LoraWeights[] = [];
  private textParts: { te: LoraWeights[]; te2: LoraWeights[] } = { te: [], te2: [] };
  /** The styles in the UNet's slots, by slot. */
  private slotStyles: (PreparedStyle | undefined)[] = [];

  private constructor(
    readonly family: FamilyInfo,
    readonly folder: SdFolder,
    readonly plan: ExecutionChoice,
    readonly sampler: DiscreteSamplerSettings,
    private readonly session: SessionOptions,
    private readonly tokenizers: { first: ClipTokenizer; second?: ClipTokenizer },
    private readonly pipeline: SdPipeline,
    private readonly opened: Opened,
    private readonly providers: ProviderUse,
    /** What each component computes in now (after any non-finite fallback): new sessions follow it. */
    private precisions: SdPrecisions,
  ) {}

  static async open(family: FamilyInfo, folderIn: ModelFolder, sessionOptions: SessionOptions, plan: ExecutionChoice): Promise<SdRunner> {
    const folder = withComponents(folderIn, BASE);
    const components = folderIn.components as Readonly<Record<string, string | undefined>>;
    const xl = components.textEncoder2 !== undefined;
    const providers = new ProviderUse();
    const target = targetOf(sessionOptions);
    // The plan's precision (the provider's default unless told); each component derives its own (sd-precision).
    const session: SessionOptions = {
      ...sessionOptions,
      precision: sessionOptions.precision ?? defaultPrecision(target),
      onProvider: providers.listener(sessionOptions.onProvider),
    };
    const { raw, file } = await readConfigFile(folder.components.scheduler, 'scheduler_config.json');
    let sampler: DiscreteSamplerSettings;
    try {
      sampler = discreteSamplerFromConfig(raw);
    } catch (e) {
      throw configError(file, (e as Error).message);
    }
    const first = await ClipTokenizer.fromFolder(folder.components.tokenizer);
    const second = xl ? await ClipTokenizer.fromFolder(components.tokenizer2 ?? folder.components.tokenizer, folder.components.tokenizer) : undefined;
    // A component reopened in a safer precision keeps the runner's LoRAs, slots and styles.
    const holder: { runner?: SdRunner } = {};
    const fallback = (opened: Opened): SdFallback => ({
      available: providerPrecisions(target),
      reopenTextEncoders: (precision) => Promise.resolve(holder.runner!.reopenTextEncoders(precision)),
      reopenUnet: (precision) => holder.runner!.reopenUnet(precision),
      reopenVae: (precision) => {
        holder.runner!.precisions = { ...holder.runner!.precisions, vae: precision };
        return Promise.resolve(AutoencoderKl.fromWeights(opened.vae.weights, opened.vae.config, session, { precision, target }));
      },
    });
    const { pipeline, opened, precisions } = await openSdPipeline(
      { textEncoder: folder.components.textEncoder, ...(xl ? { textEncoder2: components.textEncoder2! } : {}), unet: folder.components.unet, vae: folder.components.vae, root: folder.root },
      session,
      [],
      undefined,
      fallback,
    );
    const vocab = opened.te.config.vocabSize;
    if (first.vocabSize > vocab) {
      await pipeline.release();
      throw new StudioError('model-unsupported', notice('error.componentsMismatch', { file: join(folder.components.tokenizer, 'vocab.json'), reason: `the tokenizer knows ${first.vocabSize} tokens but the text encoder embeds only ${vocab}` }), folder.components.tokenizer);
    }
    if (!oneAtATime(plan.kind)) {
      await pipeline.load().catch(async (e: unknown) => {
        await pipeline.release();
        throw e;
      });
    }
    const runner = new SdRunner(family, folder, plan, sampler, session, second ? { first, second } : { first }, pipeline, opened, providers, precisions);
    holder.runner = runner;
    return runner;
  }

  /** The precision the UNet computes in now (after any non-finite fallback): what the recipe records. */
  get precision(): Precision {
    return this.pipeline.unet.precision;
  }

  /** Where it runs, in words: the provider, the precisions (the text encoders' and VAE's where they differ), the plan. */
  get device(): string {
    const p = this.pipeline;
    return this.providers.describe({ session: this.session, precision: this.precision, textEncoder: (p.textEncoder2 ?? p.textEncoder).precision, vae: p.vae.precision, plan: this.plan });
  }

  private graphPrecision(precision: Precision) {
    return { precision, target: targetOf(this.session) };
  }

  /** The text encoders again, in `precision`, with the LoRA parts they carry now. */
  private reopenTextEncoders(precision: Precision): { first: ClipTextEncoderType; second?: ClipTextEncoderType } {
    this.precisions = { ...this.precisions, textEncoder: precision, ...(this.precisions.textEncoder2 ? { textEncoder2: precision } : {}) };
    return openTextEncoders(this.opened, this.session, this.textParts, this.precisions);
  }

  /** The UNet again, in `precision`, with its fixed LoRAs, its slots and the styles in them. */
  private async reopenUnet(precision: Precision): Promise<UnetModel> {
    this.precisions = { ...this.precisions, unet: precision };
    const unet = await UnetModel.fromWeights(this.opened.unetWeights, this.opened.unetConfig, this.session, this.unetParts, this.slots, this.graphPrecision(precision));
    for (let k = 0; k < this.slots.count; k++) await unet.setStyle(k, this.slotStyles[k]);
    return unet;
  }

  /**
   * The UNet carries the speed LoRA (and any style whose layers slots do not cover, e.g. convolutions) as
   * fixed side branches and the other styles in slots; the text encoders carry every LoRA's text part.
   * Only a change of fixed LoRAs or of the slot layout opens new sessions.
   */
  private async applyLoras(loras: readonly WorkerLora[]): Promise<{ loraScales: number[]; styleScales: number[] }> {
    if (loras.filter((l) => l.role === 'speed').length > 1) throw new StudioError('invalid-request', notice('error.oneSpeedLora'));
    const parts: { lora: WorkerLora; parts: SdLoraParts }[] = [];
    for (const l of loras) parts.push({ lora: l, parts: await loadSdLoraFile(l.file, this.opened) });
    const targets = unetStyleTargets(this.opened.unetConfig);
    const slotted = parts.filter((p) => p.lora.role === 'style' && p.parts.unet && [...p.parts.unet.modules.values()].every((m) => targets.has(m.target)));
    const fixed = parts.filter((p) => p.parts.unet && !slotted.includes(p));
    const needed = { count: slotted.length, rank: SD_STYLE_SLOT_RANK };
    for (const p of slotted) for (const m of p.parts.unet!.modules.values()) needed.rank = Math.max(needed.rank, m.rank);
    const fixedFiles = fixed.map((p) => p.lora.file);
    if (fixedFiles.join('\n') !== this.unetFixed.join('\n') || needed.count !== this.slots.count || needed.rank !== this.slots.rank) {
      const parts = fixed.map((p) => p.parts.unet!);
      const next = await UnetModel.fromWeights(this.opened.unetWeights, this.opened.unetConfig, this.session, parts, needed, this.graphPrecision(this.precisions.unet));
      await this.pipeline.replaceUnet(next);
      this.unetParts = parts;
      this.unetFixed = fixedFiles;
      this.slots = needed;
      this.styles.clear();
      this.slotStyles = [];
    }
    for (let k = 0; k < slotted.length; k++) {
      const weights = slotted[k]!.parts.unet!;
      let style = this.styles.get(weights.file);
      if (!style) {
        style = await prepareStyle(weights, this.pipeline.unet.styleLayout!);
        this.styles.set(weights.file, style);
        while (this.styles.size > MAX_PREPARED_STYLES) this.styles.delete(this.styles.keys().next().value!);
      }
      await this.pipeline.unet.setStyle(k, style);
      this.slotStyles[k] = style;
    }
    const text = parts.filter((p) => p.parts.textEncoder || p.parts.textEncoder2);
    const textFiles = text.map((p) => p.lora.file);
    if (textFiles.join('\n') !== this.textFixed.join('\n')) {
      // A LoRA without a part for one encoder still takes its place there, so scale k is LoRA k in both.
      const empty = (file: string): LoraWeights => ({ file, format: 'kohya', modules: new Map(), metadata: {} });
      this.textParts = { te: text.map((p) => p.parts.textEncoder ?? empty(p.lora.file)), te2: text.map((p) => p.parts.textEncoder2 ?? empty(p.lora.file)) };
      const encoders = openTextEncoders(this.opened, this.session, this.textParts, this.precisions);
      await this.pipeline.replaceTextEncoders(encoders.first, encoders.second);
      this.textFixed = textFiles;
    }
    const textScales = text.map((p) => p.lora.strength);
    this.pipeline.textEncoder.loraScales = textScales;
    if (this.pipeline.textEncoder2) this.pipeline.textEncoder2.loraScales = textScales;
    return { loraScales: fixed.map((p) => p.lora.strength), styleScales: slotted.map((p) => p.lora.strength) };
  }

  async generate(job: GenerateJob, onProgress: (p: StepProgress) => void, signal: AbortSignal, onNote: (n: Notice) => void = () => undefined): Promise<GeneratedImage & { sampler: SamplerSettings }> {
    this.pipeline.onNote = onNote;
    const req = job.request;
    const sampler = job.sampler ?? this.sampler;
    if (sampler.name === 'flow-match-euler') throw new StudioError('invalid-request', notice('error.samplerWrongFamily', { sampler: sampler.name, family: this.family.title }));
    const { width, height, steps, seed } = req;
    const scale = this.pipeline.vae.scale;
    if (width % scale !== 0 || height % scale !== 0) throw new StudioError('invalid-request', notice('error.sizeMultiple', { multiple: scale }));
    const scales = await this.applyLoras(job.loras);
    await new Promise((r) => setImmediate(r));
    cancelledCheck(signal);
    onProgress({ phase: 'encoding', step: 0, totalSteps: steps });
    const t0 = performance.now();
    const encode = (text: string) => this.pipeline.encodePrompt(this.tokenizers.first.encodePadded(text), this.tokenizers.second?.encodePadded(text));
    const prompt = await encode(req.prompt);
    // SDXL folders conditioned on zeros for an empty negative prompt (force_zeros_for_empty_prompt, on by default).
    const zerosForEmpty = this.pipeline.isXl && this.folder.index.force_zeros_for_empty_prompt !== false;
    const cfg = this.pipeline.usesCfg(req.guidance);
    const negative = cfg && !(zerosForEmpty && req.negativePrompt.trim() === '') ? await encode(req.negativePrompt) : undefined;
    const sequential = oneAtATime(this.plan.kind);
    if (sequential) await this.pipeline.unloadTextEncoders();
    const t1 = performance.now();
    cancelledCheck(signal);
    const stream = new NoiseStream(seed);
    const count = this.pipeline.unet.config.inChannels * (height / scale) * (width / scale);
    let image: { latents: Float32Array; strength: number } | undefined;
    if (job.initImage) {
      const init = job.initImage;
      if (init.width !== width || init.height !== height) throw new Error(`the input image is ${init.width}x${init.height}, the request ${width}x${height}`);
      // The first draw samples the image's latent distribution, the second is the noise added to it.
      image = { latents: await this.pipeline.encodeImage(rgbToPlanar(init.rgb, width, height), width, height, stream.draw(count)), strength: init.strength };
    }
    const trace = await this.pipeline.denoise({
      prompt,
      ...(negative ? { negative } : {}),
      guidance: req.guidance,
      width,
      height,
      steps,
      sampler,
      noise: stream.draw(count),
      drawNoise: (n) => stream.draw(n),
      ...(image ? { image } : {}),
      ...scales,
      signal,
      onStep: (step, total) => onProgress({ phase: 'denoising', step, totalSteps: total }),
    });
    const t2 = performance.now();
    if (sequential) await this.pipeline.unet.unload();
    // Live mode cancels a stale job at any stage: a 1-step image spends most of its time outside the steps.
    await new Promise((r) => setImmediate(r));
    cancelledCheck(signal);
    onProgress({ phase: 'decoding', step: steps, totalSteps: steps });
    const out = await this.pipeline.decode(trace.latents, width, height);
    if (sequential) await this.pipeline.vae.unload();
    const rgb = floatImageToRgb(out.image, width, height);
    return { width, height, rgb, sampler, durations: { encodeMs: t1 - t0, denoiseMs: t2 - t1, decodeMs: performance.now() - t2 } };
  }

  release(): Promise<void> {
    return this.pipeline.release();
  }
}

function cancelledCheck(signal: AbortSignal): void {
  if (signal.aborted) throw new StudioError('cancelled', notice('error.cancelled'));
}
