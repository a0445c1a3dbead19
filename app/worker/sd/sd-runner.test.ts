import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import { LCM_SAMPLER } from '../../shared/discrete-samplers.js';
import { RESIDENT } from '../../shared/vram-plan.js';
import { workerFamily } from '../families.js';
import type { FamilyRunner, GenerateJob } from '../family-runner.js';
import { openModelFolder } from '../model-folder.js';
import { SDXL_LORA, sdTurboFolder, sdxlTurboFolder, toFp16Variant } from '../test-support/sd-layout.js';

const request: ResolvedRequest = { prompt: 'a red fox in the snow', negativePrompt: '', seed: 5, steps: 1, guidance: 1, width: 256, height: 256, modelId: 'x', format: 'png', loras: [] };
const never = new AbortController().signal;
const tmp = () => mkdtempSync(join(tmpdir(), 'sd-runner-'));

async function open(dir: string): Promise<FamilyRunner> {
  const folder = await openModelFolder(dir);
  return workerFamily(folder.family).open(folder, { intraOpThreads: 1 }, RESIDENT, () => undefined);
}

async function generate(runner: FamilyRunner, job: Omit<Partial<GenerateJob>, 'request'> & { request?: Partial<ResolvedRequest> } = {}): Promise<Uint8Array> {
  const out = await runner.generate({ loras: [], ...job, request: { ...request, ...job.request } }, () => undefined, never, () => undefined);
  return out.rgb;
}

const differs = (a: Uint8Array, b: Uint8Array) => !Buffer.from(a).equals(Buffer.from(b));

describe('SDXL-Turbo and SD-Turbo folders in the official layout', () => {
  it('recognises each family from model_index.json and runs text to image, the same pixels for the same seed', async () => {
    const parent = tmp();
    for (const dir of [sdxlTurboFolder(parent), sdTurboFolder(parent)]) {
      const runner = await open(dir);
      try {
        expect(runner.folder.family).toBe(dir.endsWith('sdxl-turbo') ? 'sdxl-turbo' : 'sd-turbo');
        const a = await generate(runner);
        expect(a).toHaveLength(256 * 256 * 3);
        expect(new Set(a).size).toBeGreaterThan(20);
        expect(Buffer.from(await generate(runner)).equals(Buffer.from(a))).toBe(true);
        expect(differs(a, await generate(runner, { request: { seed: 6 } }))).toBe(true);
        expect(differs(a, await generate(runner, { request: { steps: 2 } }))).toBe(true);
      } finally {
        await runner.release();
      }
    }
  });

  it('reads the fp16 variant files when they are what the folder has', async () => {
    const dir = sdxlTurboFolder(tmp());
    const fp32 = await open(dir);
    const reference = await generate(fp32);
    await fp32.release();
    await toFp16Variant(join(dir, 'unet'), 'diffusion_pytorch_model');
    await toFp16Variant(join(dir, 'text_encoder_2'), 'model');
    const fp16 = await open(dir);
    try {
      expect(fp16.folder.files.map((f) => f.path)).toContain('unet/diffusion_pytorch_model.fp16.safetensors');
      const half = await generate(fp16);
      let worst = 0;
      for (let i = 0; i < half.length; i++) worst = Math.max(worst, Math.abs(half[i]! - reference[i]!));
      expect(worst).toBeLessThan(40);
    } finally {
      await fp16.release();
    }
  });

  it('runs image to image from an input image: strength x steps steps, reproducibly', async () => {
    const runner = await open(sdTurboFolder(tmp()));
    try {
      const rgb = Uint8Array.from({ length: 256 * 256 * 3 }, (_, i) => (i * 7) % 251);
      const steps: number[] = [];
      const out = await runner.generate({ request: { ...request, steps: 4 }, loras: [], initImage: { width: 256, height: 256, rgb, strength: 0.5 } }, (p) => p.phase === 'denoising' && steps.push(p.step), never, () => undefined);
      expect(steps).toEqual([1, 2]);
      const again = await generate(runner, { request: { steps: 4 }, initImage: { width: 256, height: 256, rgb, strength: 0.5 } });
      expect(Buffer.from(again).equals(Buffer.from(out.rgb))).toBe(true);
      const other = Uint8Array.from(rgb, (v) => 255 - v);
      expect(differs(out.rgb, await generate(runner, { request: { steps: 4 }, initImage: { width: 256, height: 256, rgb: other, strength: 0.5 } }))).toBe(true);
    } finally {
      await runner.release();
    }
  });

  it('applies a kohya SDXL LoRA as a style (slots) and as a speed LoRA with the LCM sampler', async () => {
    const runner = await open(sdxlTurboFolder(tmp()));
    try {
      const plain = await generate(runner);
      const styled = await generate(runner, { loras: [{ file: SDXL_LORA, strength: 1, role: 'style' }] });
      expect(differs(plain, styled)).toBe(true);
      expect(Buffer.from(await generate(runner, { loras: [{ file: SDXL_LORA, strength: 0, role: 'style' }] })).equals(Buffer.from(plain))).toBe(true);
      const lcm = await runner.generate({ request: { ...request, steps: 4 }, loras: [{ file: SDXL_LORA, strength: 1, role: 'speed' }], sampler: LCM_SAMPLER }, () => undefined, never, () => undefined);
      expect(lcm.sampler.name).toBe('lcm');
      expect(differs(lcm.rgb, styled)).toBe(true);
    } finally {
      await runner.release();
    }
  });

  it('refuses a LoRA made for another family, naming the file', async () => {
    const runner = await open(sdTurboFolder(tmp()));
    try {
      await expect(generate(runner, { loras: [{ file: SDXL_LORA, strength: 1, role: 'style' }] })).rejects.toThrow(/The LoRA lora_kohya_sdxl\.safetensors does not fit the loaded model/);
    } finally {
      await runner.release();
    }
  });
});
