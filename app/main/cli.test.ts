import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseA1111Parameters } from '../shared/a1111-parameters.js';
import { readPngText } from './images/png-text.js';
import { appRoot } from './paths.js';

const bin = join(appRoot(), 'bin', 'studio.js');

function studio(dataDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, STUDIO_DATA_DIR: dataDir, STUDIO_THREADS: '2' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('studio CLI', () => {
  const data = mkdtempSync(join(tmpdir(), 'studio-cli-'));
  const out = mkdtempSync(join(tmpdir(), 'studio-cli-out-'));

  it('generates a PNG whose parameters chunk holds the recipe, byte-identical pixels for the same seed', async () => {
    const first = studio(data, 'generate', '--prompt', 'a red fox', '--seed', '7', '--size', '512x512', '--out', join(out, 'fox.png'));
    expect(first.stderr).toContain('step 4/4');
    expect(first.code).toBe(0);
    const second = studio(data, 'generate', '--prompt', 'a red fox', '--seed', '7', '--size', '512x512', '--out', join(out, 'fox2.png'));
    expect(second.code).toBe(0);

    const png = readFileSync(join(out, 'fox.png'));
    const params = parseA1111Parameters(readPngText(png).parameters!);
    expect(params.prompt).toBe('a red fox');
    expect(params.settings).toMatchObject({ Seed: '7', Steps: '4', Size: '512x512', Sampler: 'Euler' });
    const a = await sharp(join(out, 'fox.png')).raw().toBuffer();
    const b = await sharp(join(out, 'fox2.png')).raw().toBuffer();
    expect(a.equals(b)).toBe(true);
    expect(JSON.parse(first.stdout)).toMatchObject({ seed: 7, file: join(out, 'fox.png') });
  });

  it('generates from a diffusers-layout Qwen-Image folder given with --model, recording its hashes', async () => {
    const { fixtureModelFolder } = await import('../worker/test-support/fixture-model.js');
    const model = fixtureModelFolder(mkdtempSync(join(tmpdir(), 'studio-cli-model-')));
    const dataDir = mkdtempSync(join(tmpdir(), 'studio-cli-data-'));
    const r = studio(dataDir, 'generate', '--prompt', 'a lighthouse', '--seed', '1', '--steps', '2', '--size', '256x256', '--model', model, '--out', join(out, 'tiny.png'));
    expect(r.stderr).toContain('step 2/2');
    expect(r.code).toBe(0);
    const [record] = JSON.parse(studio(dataDir, 'history', '--json').stdout) as { recipe: { modelName: string; modelHashes: { file: string }[] } }[];
    expect(record!.recipe.modelName).toBe('tiny-qwen-image');
    expect(record!.recipe.modelHashes.map((h) => h.file)).toContain('transformer/diffusion_pytorch_model.safetensors');
  });

  it('applies a style LoRA and a speed LoRA with its preset, recording both in the recipe', async () => {
    const { fixtureModelFolder } = await import('../worker/test-support/fixture-model.js');
    const { copyFileSync } = await import('node:fs');
    const model = fixtureModelFolder(mkdtempSync(join(tmpdir(), 'studio-cli-model-')));
    // The model's own scheduler is the default one; the speed LoRA must switch to the Lightning preset.
    writeFileSync(join(model, 'scheduler', 'scheduler_config.json'), JSON.stringify({ base_shift: 0.5, max_shift: 0.9, shift_terminal: 0.02, use_dynamic_shifting: true, time_shift_type: 'exponential' }));
    const loraDir = mkdtempSync(join(tmpdir(), 'studio-cli-lora-'));
    const fixtureLora = join(appRoot(), 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors');
    const speed = join(loraDir, 'Qwen-Image-Lightning-8steps-V1.0.safetensors');
    copyFileSync(fixtureLora, speed);
    const dataDir = mkdtempSync(join(tmpdir(), 'studio-cli-data-'));
    const base = ['generate', '--prompt', 'a lighthouse', '--seed', '1', '--size', '256x256', '--model', model];
    expect(studio(dataDir, ...base, '--steps', '2', '--out', join(out, 'plain.png')).code).toBe(0);
    expect(studio(dataDir, ...base, '--steps', '2', '--lora', `${fixtureLora}:0.7`, '--out', join(out, 'styled.png')).code).toBe(0);
    const withSpeed = studio(dataDir, ...base, '--lora', speed, '--lora', `${fixtureLora}:0.5`);
    expect(withSpeed.stderr).toContain('step 8/8');
    expect(withSpeed.code).toBe(0);

    const plain = await sharp(join(out, 'plain.png')).raw().toBuffer();
    expect(plain.equals(await sharp(join(out, 'styled.png')).raw().toBuffer())).toBe(false);
    const [latest, styled] = JSON.parse(studio(dataDir, 'history', '--json').stdout) as { recipe: { steps: number; sampler: { shiftTerminal: number | null; baseShift: number }; loras: { name: string; strength: number; role: string; sha256: string }[] } }[];
    expect(styled!.recipe.loras).toEqual([{ name: 'lora_lightx2v_format.safetensors', strength: 0.7, role: 'style', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(latest!.recipe.steps).toBe(8);
    expect(latest!.recipe.sampler).toMatchObject({ shiftTerminal: null, baseShift: Math.log(3) });
    expect(latest!.recipe.loras.map((l) => [l.role, l.strength])).toEqual([['speed', 1], ['style', 0.5]]);
  });

  it('refuses a LoRA made for another model, changing nothing', async () => {
    const { fixtureModelFolder } = await import('../worker/test-support/fixture-model.js');
    const { encodeSafetensors } = await import('../worker/safetensors/safetensors.js');
    const model = fixtureModelFolder(mkdtempSync(join(tmpdir(), 'studio-cli-model-')));
    const sdxl = join(mkdtempSync(join(tmpdir(), 'studio-cli-lora-')), 'sdxl-style.safetensors');
    writeFileSync(sdxl, encodeSafetensors([{ name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', dtype: 'F32', shape: [4, 320], data: new Uint8Array(4 * 320 * 4) }]));
    const dataDir = mkdtempSync(join(tmpdir(), 'studio-cli-data-'));
    const r = studio(dataDir, 'generate', '--prompt', 'x', '--size', '256x256', '--steps', '1', '--model', model, '--lora', sdxl);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/This LoRA does not fit the loaded model: 1 of 1 tensors match no layer of it \(lora_unet_down_blocks_0_attentions_0_proj_in/);
    expect(studio(dataDir, 'history').stdout).toContain('No images found.');
  });

  it('checks a reference fixture folder with `studio fixture`, and exits 3 on one it does not support', () => {
    const fixtures = join(appRoot(), 'test-fixtures', 'qwen-image');
    const ok = studio(data, 'fixture', join(fixtures, 'transformer'));
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l) as { case: string; pass: boolean; maxAbs: number; atol: number });
    expect(lines.map((l) => l.case)).toEqual(['sq64', 'rect48x80', 'batch2_padded']);
    expect(lines.every((l) => l.pass && l.maxAbs <= l.atol)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'studio-cli-fixture-'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ family: 'flux', component: 'transformer' }));
    const unsupported = studio(data, 'fixture', dir);
    expect(unsupported.code).toBe(3);
    expect(unsupported.stderr).toMatch(/not supported: the model family "flux" is not supported yet/);
    const sdTurbo = studio(data, 'fixture', join(appRoot(), 'test-fixtures', 'sdxl', 'sd_turbo', 'unet'));
    expect(sdTurbo.code).toBe(0);
    expect(JSON.parse(sdTurbo.stdout.trim())).toMatchObject({ family: 'sd-turbo', component: 'unet', case: 'sq8x8_t999', pass: true });
  });

  it('lists and searches the history, as text and JSON', () => {
    studio(data, 'generate', '--prompt', '一只红色的狐狸，雪林', '--seed', '9', '--size', '256x256');
    const text = studio(data, 'history');
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n')).toHaveLength(3);
    const found = JSON.parse(studio(data, 'history', '--search', '狐狸', '--json').stdout) as { recipe: { seed: number; prompt: string } }[];
    expect(found.map((g) => g.recipe.seed)).toEqual([9]);
    expect(JSON.parse(studio(data, 'history', '--search', 'red fox', '--json').stdout)).toHaveLength(2);
  });

  it.each([
    [['--prompt', ''], /The prompt is empty/],
    [['--prompt', 'x', '--size', '1000x1000'], /Width must be a multiple of 16 pixels/],
    [['--prompt', 'x', '--size', '4096x4096'], /Width must be at most 2048 pixels/],
    [['--prompt', 'x', '--size', 'big'], /--size must look like 1024x1024/],
    [['--prompt', 'x', '--steps', '0'], /Steps must be between 1 and 50/],
    [['--prompt', 'x', '--seed', 'abc'], /The seed "abc" is not a whole number from 0 to 4294967295/],
    [['--prompt', 'x', '--model', '/nonexistent/model'], /There is no model folder at \/nonexistent\/model/],
  ])('exits 1 with a clear message for %j', (args, pattern) => {
    const r = studio(data, 'generate', ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(pattern);
  });

  it('exits 2 with usage on an unknown command or option', () => {
    expect(studio(data, 'paint').code).toBe(2);
    const r = studio(data, 'generate', '--colour', 'red');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage:');
  });

  it('refuses a history database from a newer studio, leaving it as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'studio-cli-new-'));
    const db = new Database(join(dir, 'studio.db'));
    db.pragma('user_version = 99');
    db.close();
    const r = studio(dir, 'history');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/written by a newer version of the studio \(schema 99/);
  });

  it('refuses a seed that is not a whole number from 0 to 2^32-1 instead of using another seed', () => {
    for (const seed of ['4294967296', '0x10', '1e3']) {
      const r = studio(data, 'generate', '--prompt', 'x', '--seed', seed, '--size', '256x256', '--steps', '1');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`studio: The seed "${seed}" is not a whole number from 0 to 4294967295`);
    }
  });
});
