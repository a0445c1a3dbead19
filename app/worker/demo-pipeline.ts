// Runs the demo model: prompt -> tokens -> conditioning -> Euler steps on the flow-matching schedule -> pixels.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { ResolvedRequest, SamplerSettings } from '../shared/generation.js';
import { LIGHTNING_SAMPLER, flowMatchSchedule } from '../shared/flow-match.js';
import { StudioError } from '../shared/result.js';
import {
  DEMO_CONFIG,
  DEMO_WEIGHTS_FILE,
  buildDemoDecoder,
  buildDemoDenoiser,
  buildDemoTextEncoder,
  checkDemoWeights,
} from './demo/demo-model.js';
import { gaussianNoise } from './noise.js';
import { createSession, floatTensor, int64Tensor, outputFloats, release, run, type Session } from './ort.js';
import { readSafetensorsHeader } from './safetensors/safetensors.js';
import { countNonFinite, floatImageToRgb } from './pixels.js';

/** The demo runs on the schedule Qwen-Image-Lightning publishes, so the real sampler code is exercised. */
export const DEMO_SAMPLER: SamplerSettings = LIGHTNING_SAMPLER;

export interface StepProgress {
  readonly phase: 'encoding' | 'denoising' | 'decoding';
  readonly step: number;
  readonly totalSteps: number;
}

export interface PipelineOutput {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly durations: { encodeMs: number; denoiseMs: number; decodeMs: number };
}

/** Byte-level tokens: BOS, then the prompt's UTF-8 bytes (so Chinese and English both work), truncated. */
export function demoTokens(prompt: string): number[] {
  const bytes = new TextEncoder().encode(prompt.trim());
  return [DEMO_CONFIG.bosId, ...bytes.subarray(0, DEMO_CONFIG.maxTokens - 1)];
}

/** Pixel-centre coordinates scaled by the longer side, so patterns keep their aspect. */
function latentCoords(h: number, w: number): Float32Array {
  const out = new Float32Array(h * w * 2);
  const scale = Math.max(h, w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 2;
      out[i] = ((x + 0.5 - w / 2) / scale) * 2;
      out[i + 1] = ((y + 0.5 - h / 2) / scale) * 2;
    }
  }
  return out;
}

function yieldToEvents(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export class DemoPipeline {
  private constructor(
    private readonly textEncoder: Session,
    private readonly denoiser: Session,
    private readonly decoder: Session,
  ) {}

  static async open(dir: string, threads = availableParallelism()): Promise<DemoPipeline> {
    const header = await readSafetensorsHeader(join(dir, DEMO_WEIGHTS_FILE));
    checkDemoWeights(header);
    const config = { externalDataFolder: dir, intraOpThreads: threads };
    const [te, dn, dc] = await Promise.all([
      createSession(buildDemoTextEncoder(header), config),
      createSession(buildDemoDenoiser(header), config),
      createSession(buildDemoDecoder(header), config),
    ]);
    return new DemoPipeline(te, dn, dc);
  }

  async generate(req: ResolvedRequest, onProgress: (p: StepProgress) => void, signal: AbortSignal): Promise<PipelineOutput> {
    const { width, height, steps, seed } = req;
    const h = height / DEMO_CONFIG.vaeScale;
    const w = width / DEMO_CONFIG.vaeScale;
    const checkCancelled = async (): Promise<void> => {
      await yieldToEvents();
      if (signal.aborted) throw new StudioError('cancelled', 'The generation was cancelled.');
    };

    onProgress({ phase: 'encoding', step: 0, totalSteps: steps });
    const t0 = performance.now();
    const tokens = demoTokens(req.prompt);
    const n = tokens.length;
    const encoded = await run(this.textEncoder, 'text encoder', {
      input_ids: await int64Tensor(BigInt64Array.from(tokens, BigInt), [1, n]),
      positions: await int64Tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]),
      attention_mask: await floatTensor(new Float32Array(n).fill(1), [1, n]),
    });
    const cond = await floatTensor(outputFloats(encoded, 'cond'), [1, DEMO_CONFIG.textDim]);
    const t1 = performance.now();

    const schedule = flowMatchSchedule(steps, width, height, DEMO_SAMPLER);
    const latents = gaussianNoise(seed, DEMO_CONFIG.latentChannels * h * w);
    const coords = await floatTensor(latentCoords(h, w), [h * w, 2]);
    const dims = [1, DEMO_CONFIG.latentChannels, h, w];
    for (let i = 0; i < steps; i++) {
      await checkCancelled();
      const sigma = schedule.sigmas[i]!;
      const out = await run(this.denoiser, 'denoiser', {
        latents: await floatTensor(latents, dims),
        sigma: await floatTensor(Float32Array.of(sigma), [1]),
        cond,
        coords,
      });
      const v = outputFloats(out, 'velocity');
      const dt = Math.fround(schedule.sigmas[i + 1]! - sigma);
      for (let j = 0; j < latents.length; j++) latents[j] = latents[j]! + dt * v[j]!;
      onProgress({ phase: 'denoising', step: i + 1, totalSteps: steps });
    }
    const t2 = performance.now();

    await checkCancelled();
    onProgress({ phase: 'decoding', step: steps, totalSteps: steps });
    const decoded = await run(this.decoder, 'decoder', { latents: await floatTensor(latents, dims) });
    const image = outputFloats(decoded, 'image');
    const bad = countNonFinite(image);
    if (bad > 0) {
      throw new StudioError('inference-failed', `The decoder produced ${bad} invalid (NaN or infinite) values; the image was not saved.`);
    }
    const rgb = floatImageToRgb(image, width, height, 'unit');
    const t3 = performance.now();
    return { width, height, rgb, durations: { encodeMs: t1 - t0, denoiseMs: t2 - t1, decodeMs: t3 - t2 } };
  }

  async release(): Promise<void> {
    await Promise.all([release(this.textEncoder), release(this.denoiser), release(this.decoder)]);
  }
}
