import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseA1111Parameters } from '../shared/a1111-parameters.js';
import { sdTurboFolder, sdxlTurboFolder, SDXL_LORA } from '../worker/test-support/sd-layout.js';
import { readPngText } from './images/png-text.js';
import { appRoot } from './paths.js';
import { countGenerations } from './store/generations.js';
import { testStudio } from './test-support/test-studio.js';

const bin = join(appRoot(), 'bin', 'studio.js');

function cli(dataDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, STUDIO_DATA_DIR: dataDir, STUDIO_THREADS: '2' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('studio generate with SDXL-Turbo and SD-Turbo folders (the tiny fixture components in the official layouts)', () => {
  const parent = mkdtempSync(join(tmpdir(), 'studio-sd-'));
  const sdxl = sdxlTurboFolder(parent);
  const sd = sdTurboFolder(parent);
  const data = mkdtempSync(join(tmpdir(), 'studio-sd-data-'));
  const out = mkdtempSync(join(tmpdir(), 'studio-sd-out-'));

  it('makes an image at the family defaults (1 step, 512x512), with Euler a in its parameters', () => {
    const r = cli(data, 'generate', '--model', sdxl, '--prompt', 'a lighthouse at dusk', '--seed', '3', '--out', join(out, 'xl.png'));
    expect(r.stderr).toContain('step 1/1');
    expect(r.code).toBe(0);
    const params = parseA1111Parameters(readPngText(readFileSync(join(out, 'xl.png'))).parameters!);
    expect(params.settings).toMatchObject({ Steps: '1', Size: '512x512', Sampler: 'Euler a', 'Schedule type': 'SGM Uniform', Seed: '3' });
    expect(JSON.parse(params.settings['Studio recipe']!)).toMatchObject({ sampler: { name: 'euler-ancestral', timestepSpacing: 'trailing' }, modelHashes: expect.arrayContaining([expect.objectContaining({ file: 'unet/diffusion_pytorch_model.safetensors' })]) });
  });

  it('runs image to image from a file, recording the input and strength; an undecodable file fails naming it and records nothing', async () => {
    const input = join(out, 'input.png');
    await sharp(Buffer.alloc(300 * 200 * 3, 120), { raw: { width: 300, height: 200, channels: 3 } }).png().toFile(input);
    const r = cli(data, 'generate', '--model', sd, '--prompt', 'a lighthouse', '--image', input, '--strength', '0.5', '--steps', '2', '--size', '256x256', '--out', join(out, 'i2i.png'));
    expect(r.code).toBe(0);
    const params = parseA1111Parameters(readPngText(readFileSync(join(out, 'i2i.png'))).parameters!);
    expect(params.settings).toMatchObject({ 'Denoising strength': '0.5', Sampler: 'Euler' });
    expect(JSON.parse(params.settings['Studio recipe']!)).toMatchObject({ initImage: { source: 'input.png', strength: 0.5, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const before = JSON.parse(cli(data, 'history', '--json').stdout) as unknown[];
    const broken = join(out, 'broken.png');
    writeFileSync(broken, 'not an image at all');
    const bad = cli(data, 'generate', '--model', sd, '--prompt', 'x', '--image', broken, '--steps', '2', '--size', '256x256');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/The input image broken\.png cannot be read as an image/);
    expect(JSON.parse(cli(data, 'history', '--json').stdout)).toHaveLength(before.length);
  });
});

describe('requests the chosen model cannot run are refused before anything is written', () => {
  const studio = testStudio();
  const parent = mkdtempSync(join(tmpdir(), 'studio-sd-refuse-'));
  afterAll(() => studio.close());

  it('an image input for a family without image-to-image, and a strength that leaves no step', async () => {
    const sd = await studio.models.registerFolder('sd', sdTurboFolder(parent), 'sd');
    const base = { prompt: 'x', steps: 2, width: 256, height: 256 };
    expect(() => studio.submit({ ...base, modelId: 'demo', initImage: { path: '/dev/null', strength: 0.5 } })).toThrow(/models do not take an input image/);
    expect(() => studio.submit({ ...base, modelId: sd.id, initImage: { path: '/dev/null', strength: 0.25 } })).toThrow(/Strength 0.25 with 2 steps runs no step at all/);
    expect(countGenerations(studio.db)).toBe(0);
  });

  it('live mode: each newer prompt cancels the stale job, and only the newest prompt becomes an image', async () => {
    const model = await studio.models.registerFolder('live', sdTurboFolder(parent, 'live-sd-turbo'), 'live');
    const before = countGenerations(studio.db);
    const jobs: ReturnType<typeof studio.submit>[] = [];
    for (const prompt of ['a', 'a red', 'a red fox', 'a red fox in snow']) {
      const last = jobs[jobs.length - 1];
      if (last) studio.jobs.cancel(last.jobId);
      const job = studio.submit({ prompt, steps: 1, width: 256, height: 256, modelId: model.id, seed: 1 });
      job.completion.catch(() => undefined);
      jobs.push(job);
    }
    const record = await jobs[jobs.length - 1]!.completion;
    expect(record.recipe.prompt).toBe('a red fox in snow');
    for (const job of jobs.slice(0, -1)) await expect(job.completion).rejects.toMatchObject({ code: 'cancelled' });
    expect(countGenerations(studio.db)).toBe(before + 1);
  });

  it('a UNet config the graphs do not support fails the job naming the file, and nothing is recorded', async () => {
    const dir = sdTurboFolder(parent, 'odd-unet');
    const file = join(dir, 'unet', 'config.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), resnet_time_scale_shift: 'scale_shift' }));
    const model = await studio.models.registerFolder('odd', dir, 'odd');
    const before = countGenerations(studio.db);
    await expect(studio.submit({ prompt: 'x', steps: 1, width: 256, height: 256, modelId: model.id }).completion).rejects.toThrow(/unet\/config\.json cannot be used: resnet_time_scale_shift "scale_shift" is not supported/);
    expect(countGenerations(studio.db)).toBe(before);
  });

  it('a speed LoRA of another family, naming the file', () => {
    const lcm = join(parent, 'lcm-lora-sdxl.safetensors');
    writeFileSync(lcm, readFileSync(SDXL_LORA));
    studio.loras.registerFile('lcm', lcm);
    const before = countGenerations(studio.db);
    expect(() => studio.submit({ prompt: 'x', steps: 4, width: 256, height: 256, modelId: 'demo', loras: [{ id: 'lcm', strength: 1 }] })).toThrow(
      /The LoRA lcm-lora-sdxl\.safetensors is a LCM-LoRA 4-step speed LoRA for SDXL-Turbo models; the chosen model is Qwen-Image/,
    );
    expect(countGenerations(studio.db)).toBe(before);
  });

  it('a style LoRA of another family, either way round, naming the LoRA and both families', async () => {
    const sd = await studio.models.registerFolder('sd-style', sdTurboFolder(parent, 'style-sd-turbo'), 'tiny-sd-turbo');
    const sdxlStyle = join(parent, 'xl-ink.safetensors');
    writeFileSync(sdxlStyle, readFileSync(SDXL_LORA));
    const xl = await studio.loras.import(sdxlStyle);
    const qwen = await studio.loras.import(join(appRoot(), 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors'), 'qwen-paint.safetensors');
    if (!xl.ok || !qwen.ok) throw new Error('the fixture LoRAs were not imported');
    const before = countGenerations(studio.db);
    const base = { prompt: 'x', steps: 1, width: 256, height: 256 };
    expect(() => studio.submit({ ...base, modelId: 'demo', loras: [{ id: xl.lora.id, strength: 0.8 }] })).toThrow(/xl-ink is a LoRA for SDXL-Turbo models; it cannot be used with .* \(Qwen-Image\)\. Remove it, or choose a model of the SDXL-Turbo family\./);
    expect(() => studio.submit({ ...base, modelId: sd.id, loras: [{ id: qwen.lora.id, strength: 0.8 }] })).toThrow(/qwen-paint is a LoRA for Qwen-Image models; it cannot be used with tiny-sd-turbo \(SD-Turbo\)/);
    expect(countGenerations(studio.db)).toBe(before);
  });
});
