import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import { RESIDENT } from '../../shared/vram-plan.js';
import { workerFamily } from '../families.js';
import { openModelFolder } from '../model-folder.js';
import { TINY_SD_TURBO, writeRandomSdTurbo } from './random-sd.js';

describe('random SD-Turbo folders (benchmarks, live-mode latency)', () => {
  it('writes a complete official-layout folder of any size that the studio runs', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'random-sd-')), 'sd');
    await writeRandomSdTurbo(dir, TINY_SD_TURBO);
    const folder = await openModelFolder(dir);
    expect(folder.family).toBe('sd-turbo');
    const runner = await workerFamily(folder.family).open(folder, { intraOpThreads: 1 }, RESIDENT, () => undefined);
    try {
      const request: ResolvedRequest = { prompt: 'any text, même accentué', negativePrompt: '', seed: 1, steps: 1, guidance: 1, width: 256, height: 256, modelId: 'x', format: 'png', loras: [] };
      const out = await runner.generate({ request, loras: [] }, () => undefined, new AbortController().signal, () => undefined);
      expect(out.rgb).toHaveLength(256 * 256 * 3);
    } finally {
      await runner.release();
    }
  });
});

describe('an LCM-distilled UNet (time_cond_proj_dim)', () => {
  it('takes the guidance-scale embedding as an input that changes its output', async () => {
    const { readFileSync } = await import('node:fs');
    const { writeRandomUnet } = await import('./random-sd.js');
    const { UnetModel } = await import('./unet-model.js');
    const { guidanceEmbedding } = await import('./sd-pipeline.js');
    const base = JSON.parse(readFileSync(new URL('../../../test-fixtures/sdxl/sd_turbo/unet/config.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const dir = join(mkdtempSync(join(tmpdir(), 'lcm-unet-')), 'unet');
    await writeRandomUnet(dir, { ...base, time_cond_proj_dim: 16 });
    const unet = await UnetModel.open(dir, dir, { intraOpThreads: 1 });
    try {
      expect(unet.config.timeCondProjDim).toBe(16);
      const input = { sample: new Float32Array(4 * 8 * 8).fill(0.3), batch: 1, height: 8, width: 8, timesteps: Float32Array.of(999), context: new Float32Array(77 * 32).fill(0.1), tokens: 77 };
      const low = await unet.run({ ...input, timestepCond: guidanceEmbedding(1.5, 16) });
      const high = await unet.run({ ...input, timestepCond: guidanceEmbedding(8, 16) });
      expect(low.some((v, i) => Math.abs(v - high[i]!) > 1e-4)).toBe(true);
      expect(guidanceEmbedding(1, 16).slice(0, 8).every((v) => v === 0)).toBe(true);
    } finally {
      await unet.release();
    }
  });
});
