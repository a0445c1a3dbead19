// Text to image with a Qwen-Image model folder: the worker's model, from prompt to 8-bit pixels.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedRequest, SamplerSettings } from '../../shared/generation.js';
import { samplerFromSchedulerConfig } from '../../shared/flow-match.js';
import { StudioError } from '../../shared/result.js';
import type { ModelFolder } from '../model-folder.js';
import { gaussianNoise } from '../noise.js';
import { floatImageToRgb } from '../pixels.js';
import { promptIds, Qwen2Tokenizer } from '../tokenizer/qwen2-tokenizer.js';
import { openPipeline, type SessionOptions } from './components.js';
import { packLatents } from './latents.js';
import type { QwenImagePipeline } from './pipeline.js';

export interface StepProgress {
  readonly phase: 'encoding' | 'denoising' | 'decoding';
  readonly step: number;
  readonly totalSteps: number;
}

export interface GeneratedImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly durations: { encodeMs: number; denoiseMs: number; decodeMs: number };
}

export class QwenImageRunner {
  private constructor(
    readonly folder: ModelFolder,
    private readonly tokenizer: Qwen2Tokenizer,
    private readonly pipeline: QwenImagePipeline,
    readonly sampler: SamplerSettings,
    /** Where it runs, in words: the provider, and any that could not load. */
    readonly device: string,
  ) {}

  static async open(folder: ModelFolder, sessionOptions: SessionOptions): Promise<QwenImageRunner> {
    const used = new Set<string>();
    const fallbacks = new Map<string, string>();
    const session: SessionOptions = {
      ...sessionOptions,
      onProvider: (provider, skipped) => {
        used.add(provider);
        for (const s of skipped) fallbacks.set(s.provider, s.reason);
        sessionOptions.onProvider?.(provider, skipped);
      },
    };
    const schedulerFile = join(folder.components.scheduler, 'scheduler_config.json');
    const schedulerText = await readFile(schedulerFile, 'utf8').catch(() => {
      throw new StudioError('model-not-found', `${schedulerFile} is missing; the model folder is incomplete.`, schedulerFile);
    });
    const sampler = samplerFromSchedulerConfig(JSON.parse(schedulerText) as Record<string, unknown>);
    const tokenizer = await Qwen2Tokenizer.fromFolder(folder.components.tokenizer);
    const pipeline = await openPipeline(
      { textEncoder: folder.components.textEncoder, transformer: folder.components.transformer, vae: folder.components.vae, root: folder.root },
      session,
    );
    const vocab = pipeline.textEncoder.config.vocabSize;
    if (tokenizer.vocabSize > vocab) {
      await pipeline.release();
      throw new StudioError(
        'model-unsupported',
        `The tokenizer knows ${tokenizer.vocabSize} tokens but the text encoder embeds only ${vocab}; tokenizer/ and text_encoder/ come from different models.`,
        folder.components.tokenizer,
      );
    }
    const threads = sessionOptions.intraOpThreads ? `, ${sessionOptions.intraOpThreads} threads` : '';
    const fellBack = [...fallbacks.keys()].filter((p) => !used.has(p));
    const device = `${[...used].join('+')} float32${threads}${fellBack.length ? `; ${fellBack.join(', ')} unavailable` : ''}`;
    return new QwenImageRunner(folder, tokenizer, pipeline, sampler, device);
  }

  async generate(req: ResolvedRequest, onProgress: (p: StepProgress) => void, signal: AbortSignal): Promise<GeneratedImage> {
    const { width, height, steps, seed } = req;
    const scale = this.pipeline.vae.scale;
    if (width % (scale * 2) !== 0 || height % (scale * 2) !== 0) {
      throw new StudioError('invalid-request', `Width and height must be multiples of ${scale * 2} pixels for this model.`);
    }
    onProgress({ phase: 'encoding', step: 0, totalSteps: steps });
    const t0 = performance.now();
    const prompt = await this.pipeline.encodePrompt(promptIds(this.tokenizer, req.prompt));
    // True CFG runs only with guidance above 1 and a negative prompt, as the reference pipeline does.
    const useNegative = req.guidance > 1 && req.negativePrompt.trim() !== '';
    const negative = useNegative ? await this.pipeline.encodePrompt(promptIds(this.tokenizer, req.negativePrompt)) : undefined;
    const t1 = performance.now();

    const channels = this.pipeline.vae.config.zDim;
    const h = height / scale;
    const w = width / scale;
    const latents = packLatents(gaussianNoise(seed, channels * h * w), channels, h, w);
    const trace = await this.pipeline.denoise({
      prompt,
      ...(negative ? { negative } : {}),
      trueCfgScale: req.guidance,
      latents,
      width,
      height,
      steps,
      sampler: this.sampler,
      signal,
      onStep: (step) => onProgress({ phase: 'denoising', step, totalSteps: steps }),
    });
    const t2 = performance.now();
    onProgress({ phase: 'decoding', step: steps, totalSteps: steps });
    const { image } = await this.pipeline.decode(trace.latents, width, height);
    const rgb = floatImageToRgb(image, width, height, 'unit');
    return { width, height, rgb, durations: { encodeMs: t1 - t0, denoiseMs: t2 - t1, decodeMs: performance.now() - t2 } };
  }

  release(): Promise<void> {
    return this.pipeline.release();
  }
}
