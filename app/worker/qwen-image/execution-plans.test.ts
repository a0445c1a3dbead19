// Every execution plan makes the image the all-resident plan makes (CPU provider, the tiny fixture model):
// bit for bit where the arithmetic is the same, within a stated error where weights are quantized or the
// VAE is decoded in tiles.
import { noticeText } from '../../shared/notices.js';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import { parsePlan, type ExecutionChoice } from '../../shared/vram-plan.js';
import { openModelFolder } from '../model-folder.js';
import { fixtureModelFolder } from '../test-support/fixture-model.js';
import { QwenImageRunner } from './qwen-image-runner.js';
import type { WorkerLora } from '../../shared/worker-protocol.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;

const request: ResolvedRequest = { prompt: 'a red fox in snow', negativePrompt: 'blurry', seed: 11, steps: 2, guidance: 3, width: 256, height: 192, modelId: 'x', format: 'png', loras: [] };
const never = new AbortController().signal;

interface Made {
  rgb: Uint8Array;
  notes: string[];
  device: string;
}

function diff(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  let max = 0;
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    total += d;
  }
  return { max, mean: total / a.length };
}

describe('execution plans on the CPU provider', () => {
  let dir: string;
  let reference: Made;
  const make = async (plan: ExecutionChoice, req: ResolvedRequest = request, loras: readonly WorkerLora[] = []): Promise<Made> => {
    const notes: string[] = [];
    const runner = await QwenImageRunner.open(await openModelFolder(dir), { intraOpThreads: 1 }, plan, (m) => notes.push(noticeText(m)));
    try {
      // Twice: the second image must not depend on what the first left loaded or unloaded.
      await runner.generate(req, () => undefined, never, loras);
      const { rgb } = await runner.generate(req, () => undefined, never, loras);
      return { rgb, notes, device: runner.device };
    } finally {
      await runner.release();
    }
  };
  beforeAll(async () => {
    dir = fixtureModelFolder(mkdtempSync(join(tmpdir(), 'qwen-plans-')));
    reference = await make(parsePlan('resident')!);
  });

  it.each(['sequential', 'streamed:1', 'streamed:2'])('%s gives the resident image bit for bit', async (name) => {
    const made = await make(parsePlan(name)!);
    expect(made.device).toContain(`plan ${name}`);
    expect(diff(made.rgb, reference.rgb)).toEqual({ max: 0, mean: 0 });
  });

  it.each([
    ['int8', 2, 0.25],
    ['int4', 24, 1.5],
    ['int4-streamed:1', 24, 1.5],
  ])('%s stays within %i levels (mean %f) of the resident image, and makes its cache once', async (name, maxLevels, meanLevels) => {
    const made = await make(parsePlan(name)!);
    const d = diff(made.rgb, reference.rgb);
    expect(d.max).toBeGreaterThan(0);
    expect(d.max).toBeLessThanOrEqual(maxLevels);
    expect(d.mean).toBeLessThanOrEqual(meanLevels);
    const bits = name.startsWith('int8') ? 8 : 4;
    expect(existsSync(join(dir, 'studio-quantized', `transformer-int${bits}`, 'manifest.json'))).toBe(true);
    expect(existsSync(join(dir, 'studio-quantized', `text-encoder-int${bits}`, 'manifest.json'))).toBe(true);
    const again = await make(parsePlan(name)!);
    expect(again.notes.filter((n) => n.startsWith('Making'))).toEqual([]);
    expect(Buffer.from(again.rgb).equals(Buffer.from(made.rgb))).toBe(true);
  });

  it('keeps LoRA side branches working on quantized and streamed weights', async () => {
    const speed: WorkerLora[] = [{ file: join(fixtures, 'lora', 'lora_lightx2v_format.safetensors'), strength: 1, role: 'speed' }];
    const withLora = await make(parsePlan('resident')!, request, speed);
    expect(diff(withLora.rgb, reference.rgb).max).toBeGreaterThan(0);
    expect(diff((await make(parsePlan('streamed:1')!, request, speed)).rgb, withLora.rgb)).toEqual({ max: 0, mean: 0 });
    const d = diff((await make(parsePlan('int8')!, request, speed)).rgb, withLora.rgb);
    expect(d.max).toBeLessThanOrEqual(2);
    expect(d.mean).toBeLessThanOrEqual(0.25);
  });

  it('a tiled VAE decode stays close to the whole decode, seams included', async () => {
    const big = { ...request, width: 384, height: 320 };
    const whole = await make(parsePlan('resident')!, big);
    const tiled = await make(parsePlan('resident+tiled')!, big);
    const d = diff(tiled.rgb, whole.rgb);
    expect(d.max).toBeGreaterThan(0);
    expect(d.max).toBeLessThanOrEqual(16);
    expect(d.mean).toBeLessThanOrEqual(1);
  });
});
