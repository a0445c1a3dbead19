// Stable Diffusion in half precision on the CPU provider (the graphs DirectML and older CUDA cards run): a job
// computes in float16 and stays within a few levels of float32; the SDXL VAE, which overflows float16, decodes
// in float32 unless its config says it is the fp16-fixed one; and whatever still gives invalid values in half
// precision runs again in float32 with a notice instead of saving a black image.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import type { Notice } from '../../shared/notices.js';
import type { Precision } from '../../shared/precision.js';
import { RESIDENT } from '../../shared/vram-plan.js';
import { workerFamily } from '../families.js';
import { openModelFolder } from '../model-folder.js';
import { countNonFinite } from '../pixels.js';
import { editConfig, scaleWeights, sdTurboFolder, sdxlTurboFolder } from '../test-support/sd-layout.js';
import { AutoencoderKl } from './autoencoder-kl.js';
import { readSafetensorsHeader, readTensorBytes } from '../safetensors/safetensors.js';
import { gaussianNoise } from '../noise.js';

const request: ResolvedRequest = { prompt: 'a lighthouse at dusk', negativePrompt: '', seed: 11, steps: 2, guidance: 1, width: 64, height: 64, modelId: 'x', format: 'png', loras: [] };
const tmp = () => mkdtempSync(join(tmpdir(), 'sd-half-'));
/** Gain on the UNet's input convolution: its residual stream then goes beyond float16's 65504. */
const GAIN = 2 ** 16;
/**
 * Gain on the value and output projections of the VAE decoder's mid-block attention: the weights stay far below
 * 65504 (checked), the attention output added to the decoder's residual stream grows by their product, 2^18,
 * beyond float16's range (as the real SDXL VAE's activations do); every GroupNorm after it normalises, so the
 * float32 image is fine. (Linears, because the CPU provider computes float16 convolutions in float32 between
 * casts; its matmuls are float16 throughout, as every GPU's are.)
 */
const VAE_GAIN = 2 ** 9;
const VAE_SCALED = /^decoder\.mid_block\.attentions\.0\.(to_v|to_out\.0)\./;

async function maxAbsWeight(file: string, pattern: RegExp): Promise<number> {
  const header = await readSafetensorsHeader(file);
  let max = 0;
  for (const t of header.tensors.values()) {
    if (!pattern.test(t.name)) continue;
    for (const v of new Float32Array((await readTensorBytes(header, t.name)).slice().buffer)) max = Math.max(max, Math.abs(v));
  }
  return max;
}

async function make(dir: string, precision: Precision) {
  const folder = await openModelFolder(dir);
  const runner = await workerFamily(folder.family).open(folder, { intraOpThreads: 1, precision }, RESIDENT, () => undefined);
  const notes: Notice[] = [];
  try {
    const image = await runner.generate({ request, loras: [] }, () => undefined, new AbortController().signal, (n) => notes.push(n));
    return { rgb: image.rgb, notes, precision: runner.precision, device: runner.device };
  } finally {
    await runner.release();
  }
}

function maxLevels(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('Stable Diffusion jobs in float16', () => {
  it('SD-Turbo computes in float16 end to end and stays within a few levels of float32', async () => {
    const dir = sdTurboFolder(tmp());
    const f32 = await make(dir, 'f32');
    const fp16 = await make(dir, 'fp16');
    expect(fp16.precision).toBe('fp16');
    expect(fp16.device).toMatch(/^cpu fp16, 1 threads/);
    expect(fp16.notes).toEqual([]);
    const levels = maxLevels(fp16.rgb, f32.rgb);
    console.log(`SD-Turbo 64x64, 2 steps: fp16 vs f32 at most ${levels} levels of 255`);
    expect(levels).toBeGreaterThan(0);
    expect(levels).toBeLessThanOrEqual(3);
  });

  it('the SDXL VAE decodes in float32 (it asks for it: force_upcast), the fp16-fixed VAE in float16', async () => {
    const dir = sdxlTurboFolder(tmp());
    expect((await make(dir, 'fp16')).device).toMatch(/^cpu fp16 \(VAE f32\)/);
    editConfig(join(dir, 'vae'), { force_upcast: false });
    expect((await make(dir, 'fp16')).device).toMatch(/^cpu fp16, /);
  });
});

describe('an SDXL VAE whose decoder overflows float16', () => {
  it('a plain float16 decode gives Inf/NaN; the job decodes it in float32 up front and matches float32', async () => {
    const dir = sdxlTurboFolder(tmp());
    await scaleWeights(join(dir, 'vae'), 'diffusion_pytorch_model', VAE_SCALED, VAE_GAIN);
    const vaeDir = join(dir, 'vae');
    expect(await maxAbsWeight(join(vaeDir, 'diffusion_pytorch_model.safetensors'), VAE_SCALED)).toBeLessThan(65504 / 16);
    const z = gaussianNoise(3, 4 * 8 * 8);
    const decode = async (precision: Precision) => {
      const vae = await AutoencoderKl.open(vaeDir, dir, { intraOpThreads: 1 }, { precision });
      try {
        return await vae.decode(z, 1, 8, 8);
      } finally {
        await vae.release();
      }
    };
    const reference = await decode('f32');
    const plain = await decode('fp16');
    console.log(`overflowing SDXL VAE: plain fp16 decode ${countNonFinite(plain)} of ${plain.length} values not finite`);
    expect(countNonFinite(reference)).toBe(0);
    expect(countNonFinite(plain)).toBeGreaterThan(plain.length / 2);
    const f32 = await make(dir, 'f32');
    const fp16 = await make(dir, 'fp16');
    expect(fp16.notes).toEqual([]);
    expect(fp16.device).toMatch(/VAE f32/);
    expect(maxLevels(fp16.rgb, f32.rgb)).toBeLessThanOrEqual(3);
  });

  it('a VAE that claims to be fp16-safe but overflows runs again in float32, the job says so, the image is valid', async () => {
    const dir = sdxlTurboFolder(tmp());
    await scaleWeights(join(dir, 'vae'), 'diffusion_pytorch_model', VAE_SCALED, VAE_GAIN);
    editConfig(join(dir, 'vae'), { force_upcast: false });
    const f32 = await make(dir, 'f32');
    const fp16 = await make(dir, 'fp16');
    expect(fp16.notes.map((n) => n.key)).toEqual(['note.vaeRerun']);
    expect(fp16.notes[0]!.params).toMatchObject({ from: 'fp16', to: 'f32' });
    expect(fp16.device).toMatch(/VAE f32/);
    expect(maxLevels(fp16.rgb, f32.rgb)).toBeLessThanOrEqual(3);
  });
});

describe('a UNet whose activations overflow float16', () => {
  it('runs again in float32 from that step on, with a notice, and the image is the float32 one', async () => {
    const dir = sdTurboFolder(tmp());
    await scaleWeights(join(dir, 'unet'), 'diffusion_pytorch_model', /^conv_in\./, GAIN);
    const f32 = await make(dir, 'f32');
    const fp16 = await make(dir, 'fp16');
    expect(fp16.notes.map((n) => n.key)).toEqual(['note.denoiserRerun']);
    expect(fp16.notes[0]!.params).toMatchObject({ denoiser: 'UNet', from: 'fp16', to: 'f32' });
    expect(fp16.precision).toBe('f32');
    expect(fp16.device).toMatch(/^cpu f32 \(text encoder fp16, VAE fp16\)/);
    // The text encoder and VAE stayed in float16.
    expect(maxLevels(fp16.rgb, f32.rgb)).toBeLessThanOrEqual(3);
  });
});
