import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../shared/generation.js';
import { writeDemoModel } from './demo/demo-model.js';
import { DemoPipeline, demoTokens } from './demo-pipeline.js';

const request: ResolvedRequest = {
  prompt: 'a red fox',
  negativePrompt: '',
  seed: 7,
  steps: 4,
  guidance: 1,
  width: 256,
  height: 320,
  modelId: 'demo',
  format: 'png',
};

describe('DemoPipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-model-'));
  let pipeline: DemoPipeline;
  beforeAll(async () => {
    await writeDemoModel(dir);
    pipeline = await DemoPipeline.open(dir, 2);
  });
  afterAll(async () => pipeline.release());
  const never = new AbortController().signal;

  it('tokenizes UTF-8 bytes after a BOS token, so Chinese prompts are read too', () => {
    expect(demoTokens('ab')).toEqual([256, 97, 98]);
    expect(demoTokens('狐')).toEqual([256, 0xe7, 0x8b, 0x90]);
  });

  it('reports every step and returns an RGB image of the requested size', async () => {
    const phases: string[] = [];
    const out = await pipeline.generate(request, (p) => phases.push(p.phase === 'denoising' ? `step ${p.step}` : p.phase), never);
    expect(phases).toEqual(['encoding', 'step 1', 'step 2', 'step 3', 'step 4', 'decoding']);
    expect(out.rgb).toHaveLength(256 * 320 * 3);
    // Not a flat or black image: the pixels spread over the range.
    const values = new Set(out.rgb);
    expect(values.size).toBeGreaterThan(100);
  });

  it('gives identical pixels for the same seed, different ones for another seed or prompt', async () => {
    const a = await pipeline.generate(request, () => undefined, never);
    const b = await pipeline.generate(request, () => undefined, never);
    const c = await pipeline.generate({ ...request, seed: 8 }, () => undefined, never);
    const d = await pipeline.generate({ ...request, prompt: 'a blue whale' }, () => undefined, never);
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).toBe(true);
    expect(Buffer.from(a.rgb).equals(Buffer.from(c.rgb))).toBe(false);
    expect(Buffer.from(a.rgb).equals(Buffer.from(d.rgb))).toBe(false);
  });

  it('stops between steps when cancelled', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const run = pipeline.generate(
      { ...request, steps: 8 },
      (p) => {
        if (p.phase === 'denoising') {
          seen.push(p.step);
          if (p.step === 2) controller.abort();
        }
      },
      controller.signal,
    );
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(seen).toEqual([1, 2]);
  });

  it('refuses a weights file with a tensor of the wrong shape', async () => {
    const { writeFileSync, readFileSync } = await import('node:fs');
    const bad = mkdtempSync(join(tmpdir(), 'demo-bad-'));
    await writeDemoModel(bad);
    const { encodeSafetensors } = await import('./safetensors/safetensors.js');
    writeFileSync(
      join(bad, 'demo.safetensors'),
      encodeSafetensors([{ name: 'text_encoder.embed_tokens', dtype: 'F32', shape: [2, 2], data: new Uint8Array(16) }]),
    );
    expect(readFileSync(join(bad, 'model_index.json'), 'utf8')).toContain('StudioDemoPipeline');
    await expect(DemoPipeline.open(bad, 1)).rejects.toThrow(/text_encoder.embed_tokens is F32\[2, 2\], expected F32\[258, 32\]/);
  });
});
