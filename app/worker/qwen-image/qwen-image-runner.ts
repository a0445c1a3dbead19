// Text to image with a Qwen-Image model folder: the worker's model, from prompt to 8-bit pixels.

import { ProviderUse } from '../provider-use.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedRequest } from '../../shared/generation.js';
import { samplerFromSchedulerConfig, type FlowMatchSamplerSettings } from '../../shared/flow-match.js';
import { StudioError } from '../../shared/result.js';
import type { QwenFolder } from './qwen-folder.js';
import { notice, type Notice } from '../../shared/notices.js';
import { gaussianNoise } from '../noise.js';
import { floatImageToRgb } from '../pixels.js';
import { promptIds, Qwen2Tokenizer } from '../tokenizer/qwen2-tokenizer.js';
import { openPipeline, openTextEncoder, openTransformer, openVae, type ComponentLayouts, type SessionOptions } from './components.js';
import { isStreamed, oneAtATime, planBits, RESIDENT, type ExecutionChoice } from '../../shared/vram-plan.js';
import { ensureQuantized, quantCacheDir, type QuantizedLinears } from '../quant/quantized-weights.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { DEFAULT_TILES } from './vae-tiles.js';
import { loadLoraParts, type LoraWeights } from '../lora/lora-weights.js';
import { prepareStyle, type PreparedStyle } from '../lora/style-slots.js';
import type { WorkerLora } from '../../shared/worker-protocol.js';

import { packLatents, unpackLatents } from './latents.js';
import { latentPreview, WAN21_RGB, type PreviewImage } from '../latent-preview.js';
import type { PrecisionFallback, QwenImagePipeline } from './pipeline.js';
import { defaultPrecision, providerPrecisions, type Precision } from '../../shared/precision.js';

const MAX_PREPARED_STYLES = 4;
/**
 * Style slots hold LoRAs up to this rank without a rebuild. Slots exist only while styles are chosen: an
 * empty slot still costs two matmuls per patched linear at every step (7-36% of a step measured).
 */
export const STYLE_SLOT_RANK = 32;

export interface StepProgress {
  readonly phase: 'encoding' | 'denoising' | 'decoding';
  readonly step: number;
  readonly totalSteps: number;
  /** The latents after this step, projected to a small RGB image. */
  readonly preview?: PreviewImage;
}

export interface GeneratedImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly durations: { encodeMs: number; denoiseMs: number; decodeMs: number };
}

export class QwenImageRunner {
  /** The speed LoRA baked into the current transformer session, if any. */
  private speedFile: string | undefined;
  private slots: { count: number; rank: number } = { count: 0, rank: STYLE_SLOT_RANK };
  private readonly styles = new Map<string, PreparedStyle>();

  private constructor(
    private readonly session: SessionOptions,
    readonly folder: QwenFolder,
    private readonly tokenizer: Qwen2Tokenizer,
    private readonly pipeline: QwenImagePipeline,
    readonly sampler: FlowMatchSamplerSettings,
    readonly plan: ExecutionChoice,
    private readonly layouts: ComponentLayouts,
    private readonly providers: ProviderUse,
  ) {}

  /** The precision the transformer computes in now (after any non-finite fallback): what the recipe records. */
  get precision(): Precision {
    return this.pipeline.transformer.precision;
  }

  /** Where it runs, in words: the provider, the precisions, the plan, and any provider that could not load. */
  get device(): string {
    const p = this.pipeline;
    return this.providers.describe({ session: this.session, precision: this.precision, textEncoder: p.textEncoder.precision, vae: p.vae.precision, plan: this.plan });
  }

  /**
   * Opens a model to run under an execution plan. Quantized plans make (once) or check the n-bit cache
   * next to the model; `notify` hears about that work, which takes minutes at full size.
   */
  static async open(
    folder: QwenFolder,
    sessionOptions: SessionOptions,
    plan: ExecutionChoice = RESIDENT,
    notify: (note: Notice) => void = () => undefined,
  ): Promise<QwenImageRunner> {
    const providers = new ProviderUse();
    const first = (sessionOptions.providers ?? ['cpu'])[0] ?? 'cpu';
    const session: SessionOptions = {
      ...sessionOptions,
      precision: sessionOptions.precision ?? defaultPrecision(first),
      onProvider: providers.listener(sessionOptions.onProvider),
    };
    const schedulerFile = join(folder.components.scheduler, 'scheduler_config.json');
    const schedulerText = await readFile(schedulerFile, 'utf8').catch(() => {
      throw new StudioError('model-not-found', notice('error.modelFileMissing', { file: schedulerFile }), schedulerFile);
    });
    const sampler = samplerFromSchedulerConfig(JSON.parse(schedulerText) as Record<string, unknown>);
    const tokenizer = await Qwen2Tokenizer.fromFolder(folder.components.tokenizer);
    const layouts = componentLayouts(folder, plan, notify);
    const dirs = { textEncoder: folder.components.textEncoder, transformer: folder.components.transformer, vae: folder.components.vae, root: folder.root };
    // Holds the runner once it exists: a component reopened in a safer precision keeps its LoRAs and slots.
    const holder: { runner?: QwenImageRunner } = {};
    const fallback: PrecisionFallback = {
      available: providerPrecisions(first),
      reopenTextEncoder: (precision) => {
        const loras = holder.runner?.pipeline.textEncoder.loras ?? [];
        return openTextEncoder(dirs.textEncoder, dirs.root, { ...session, precision }, loras, layouts.textEncoder).then((te) => {
          te.loraScales = holder.runner?.pipeline.textEncoder.loraScales ?? [];
          return te;
        });
      },
      reopenTransformer: (precision) => {
        const current = holder.runner?.pipeline.transformer;
        return openTransformer(dirs.transformer, dirs.root, { ...session, precision }, current?.loras ?? [], holder.runner?.slots, layouts.transformer);
      },
      reopenVae: (precision) => openVae(dirs.vae, dirs.root, { ...session, precision }),
    };
    const pipeline = await openPipeline(dirs, session, [], undefined, layouts, fallback);
    const vocab = pipeline.textEncoder.config.vocabSize;
    if (tokenizer.vocabSize > vocab) {
      await pipeline.release();
      throw new StudioError(
        'model-unsupported',
        notice('error.tokenizerVocab', { tokens: tokenizer.vocabSize, vocab }),
        folder.components.tokenizer,
      );
    }
    // Everything resident: load now, so the first image pays no loading and a provider problem shows at once.
    if (!oneAtATime(plan.kind)) {
      await pipeline.load().catch(async (e: unknown) => {
        await pipeline.release();
        throw e;
      });
    }
    holder.runner = new QwenImageRunner(session, folder, tokenizer, pipeline, sampler, plan, layouts, providers);
    return holder.runner;
  }

  /**
   * Makes the transformer carry these LoRAs. A different speed LoRA (rare) or more styles than there are
   * slots means a new transformer session; switching or dosing styles only swaps inputs.
   */
  private async applyLoras(loras: readonly WorkerLora[]): Promise<{ loraScales: number[]; styleScales: number[] }> {
    const speed = loras.filter((l) => l.role === 'speed');
    if (speed.length > 1) throw new StudioError('invalid-request', notice('error.oneSpeedLora'));
    const styles = loras.filter((l) => l.role === 'style');
    const bases = { transformer: this.pipeline.transformer.weights, textEncoder: this.pipeline.textEncoder.weights };
    const parts = await Promise.all(loras.map(async (l) => ({ lora: l, ...(await loadLoraParts(l.file, bases)) })));
    await this.applyTextEncoderLoras(parts.flatMap((p) => (p.textEncoder ? [{ weights: p.textEncoder, strength: p.lora.strength }] : [])));
    const prepared: PreparedStyle[] = [];
    // Exactly as many slots as styles are chosen (none without a style), rank grown to the largest LoRA.
    const needed = { count: styles.length, rank: STYLE_SLOT_RANK };
    const mapped = parts.filter((p) => p.lora.role === 'style').flatMap((p) => (p.transformer ? [p.transformer] : []));
    for (const m of mapped) for (const mod of m.modules.values()) needed.rank = Math.max(needed.rank, mod.rank);
    const speedPart = parts.find((p) => p.lora.role === 'speed')?.transformer;
    const speedFile = speedPart?.file;
    if (speedFile !== this.speedFile || needed.count !== this.slots.count || needed.rank !== this.slots.rank) {
      const precision = this.pipeline.transformer.precision;
      const next = await openTransformer(this.folder.components.transformer, this.folder.root, { ...this.session, precision }, speedPart ? [speedPart] : [], needed, this.layouts.transformer);
      await this.pipeline.replaceTransformer(next);
      this.speedFile = speedFile;
      this.slots = needed;
      this.styles.clear();
    }
    for (const m of mapped) {
      let style = this.styles.get(m.file);
      if (!style) {
        style = await prepareStyle(m, this.pipeline.transformer.styleLayout!);
        this.styles.set(m.file, style);
        // Prepared styles are slot-sized float32 copies: keep the few most recent, not the whole library.
        while (this.styles.size > MAX_PREPARED_STYLES) this.styles.delete(this.styles.keys().next().value!);
      }
      prepared.push(style);
    }
    for (let k = 0; k < this.slots.count; k++) await this.pipeline.transformer.setStyle(k, prepared[k]);
    return {
      loraScales: speedPart ? [speed[0]!.strength] : [],
      styleScales: Array.from({ length: this.slots.count }, (_, k) => styles[k]?.strength ?? 0),
    };
  }

  /** LoRAs that patch the text encoder are side branches of its session; a new set means a new session. */
  private async applyTextEncoderLoras(loras: readonly { weights: LoraWeights; strength: number }[]): Promise<void> {
    const current = this.pipeline.textEncoder;
    const same = current.loras.length === loras.length && current.loras.every((l, i) => l.file === loras[i]!.weights.file);
    if (!same) {
      await this.pipeline.replaceTextEncoder(
        await openTextEncoder(this.folder.components.textEncoder, this.folder.root, { ...this.session, precision: current.precision }, loras.map((l) => l.weights), this.layouts.textEncoder),
      );
    }
    this.pipeline.textEncoder.loraScales = loras.map((l) => l.strength);
  }

  async generate(
    req: ResolvedRequest,
    onProgress: (p: StepProgress) => void,
    signal: AbortSignal,
    loras: readonly WorkerLora[] = [],
    sampler: FlowMatchSamplerSettings = this.sampler,
    onNote: (n: Notice) => void = () => undefined,
  ): Promise<GeneratedImage> {
    const { width, height, steps, seed } = req;
    this.pipeline.onNote = onNote;
    const scales = await this.applyLoras(loras);
    const scale = this.pipeline.vae.scale;
    if (width % (scale * 2) !== 0 || height % (scale * 2) !== 0) {
      throw new StudioError('invalid-request', notice('error.sizeMultiple', { multiple: scale * 2 }));
    }
    onProgress({ phase: 'encoding', step: 0, totalSteps: steps });
    const t0 = performance.now();
    const prompt = await this.pipeline.encodePrompt(promptIds(this.tokenizer, req.prompt));
    // True CFG runs only with guidance above 1 and a negative prompt, as the reference pipeline does.
    const useNegative = req.guidance > 1 && req.negativePrompt.trim() !== '';
    const negative = useNegative ? await this.pipeline.encodePrompt(promptIds(this.tokenizer, req.negativePrompt)) : undefined;
    const sequential = oneAtATime(this.plan.kind);
    if (sequential) await this.pipeline.textEncoder.unload();
    const t1 = performance.now();

    const channels = this.pipeline.vae.config.zDim;
    const h = height / scale;
    const w = width / scale;
    const latents = packLatents(gaussianNoise(seed, channels * h * w), channels, h, w);
    // Denoising starts now: the UI times each step from here.
    onProgress({ phase: 'denoising', step: 0, totalSteps: steps });
    const final = await this.pipeline.denoise({
      prompt,
      ...(negative ? { negative } : {}),
      trueCfgScale: req.guidance,
      latents,
      width,
      height,
      steps,
      sampler,
      ...scales,
      signal,
      onStep: (step, now) => onProgress({ phase: 'denoising', step, totalSteps: steps, preview: latentPreview(unpackLatents(now, channels, h, w), channels, h, w, WAN21_RGB) }),
    });
    const t2 = performance.now();
    if (sequential) await this.pipeline.transformer.unload();
    onProgress({ phase: 'decoding', step: steps, totalSteps: steps });
    const image = await this.pipeline.decode(final, width, height, this.plan.vaeTiled ? DEFAULT_TILES : undefined);
    if (sequential) await this.pipeline.vae.unload();
    const rgb = floatImageToRgb(image, width, height);
    return { width, height, rgb, durations: { encodeMs: t1 - t0, denoiseMs: t2 - t1, decodeMs: performance.now() - t2 } };
  }

  release(): Promise<void> {
    return this.pipeline.release();
  }
}

/** The component layouts a plan asks for: streamed transformer groups, n-bit caches made on demand. */
export function componentLayouts(folder: QwenFolder, plan: ExecutionChoice, notify: (note: Notice) => void = () => undefined): ComponentLayouts {
  const bits = planBits(plan.kind);
  const quantized = async (weights: WeightSet, component: 'transformer' | 'text-encoder'): Promise<QuantizedLinears | undefined> => {
    if (!bits) return undefined;
    let last = 0;
    return ensureQuantized(
      weights,
      component,
      bits,
      quantCacheDir(folder.root, component, bits),
      (problem, why) => notify(problem === 'missing' ? notice('note.quantMaking', { bits, label: weights.label }) : notice('note.quantRemaking', { problem: why })),
      (p) => {
        const pct = Math.floor((100 * p.done) / p.total);
        if (pct >= last + 10 || p.done === p.total) notify(notice('note.quantProgress', { label: weights.label, bits, percent: (last = pct) }));
      },
    );
  };
  return {
    transformer: async (weights) => {
      const q = await quantized(weights, 'transformer');
      return {
        ...(isStreamed(plan.kind) && plan.groupBlocks ? { groupBlocks: plan.groupBlocks, pinnedGroups: plan.pinnedGroups ?? 1 } : {}),
        ...(plan.modulationBlocks ? { modulationBlocks: plan.modulationBlocks } : {}),
        ...(q ? { quantized: q } : {}),
      };
    },
    textEncoder: (weights) => quantized(weights, 'text-encoder'),
  };
}
