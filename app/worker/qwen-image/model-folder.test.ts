import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import { openModelFolder } from '../model-folder.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes } from '../safetensors/safetensors.js';
import { fixtureHubCache, fixtureModelFolder } from '../test-support/fixture-model.js';
import { QwenImageRunner } from './qwen-image-runner.js';
import { StudioError } from '../../shared/result.js';

const request: ResolvedRequest = { prompt: 'a red fox', negativePrompt: '', seed: 3, steps: 2, guidance: 1, width: 256, height: 256, modelId: 'x', format: 'png', loras: [] };
const never = new AbortController().signal;
const tmp = () => mkdtempSync(join(tmpdir(), 'qwen-folder-'));

async function generate(dir: string, req: ResolvedRequest = request): Promise<Uint8Array> {
  const runner = await QwenImageRunner.open(await openModelFolder(dir), { intraOpThreads: 1 });
  try {
    return (await runner.generate(req, () => undefined, never)).rgb;
  } finally {
    await runner.release();
  }
}

describe('Qwen-Image model folders', () => {
  it('runs a folder in the official diffusers layout', async () => {
    const dir = fixtureModelFolder(tmp());
    const folder = await openModelFolder(dir);
    expect(folder).toMatchObject({ family: 'qwen-image', dir, root: dir, name: 'tiny-qwen-image', isDemo: false });
    const rgb = await generate(dir);
    expect(rgb).toHaveLength(256 * 256 * 3);
    expect(new Set(rgb).size).toBeGreaterThan(50);
  });

  it('runs a Hugging Face cache entry, reading weights through the snapshot symlinks, hashes from blob names', async () => {
    const parent = tmp();
    const { repo, snapshot } = fixtureHubCache(parent);
    const folder = await openModelFolder(repo);
    expect(folder.dir).toBe(snapshot);
    expect(folder.root).toBe(repo);
    expect(folder.name).toBe('Qwen/Tiny-Image');
    const weights = folder.files.find((f) => f.path === 'transformer/diffusion_pytorch_model.safetensors')!;
    expect(weights.sha256).toBe(createHash('sha256').update(readFileSync(join(snapshot, weights.path))).digest('hex'));
    const plain = fixtureModelFolder(tmp());
    expect(Buffer.from(await generate(repo)).equals(Buffer.from(await generate(plain)))).toBe(true);
  });

  it('runs true CFG when guidance is above 1 with a negative prompt, and it changes the image', async () => {
    const dir = fixtureModelFolder(tmp());
    const plain = await generate(dir);
    const cfg = await generate(dir, { ...request, guidance: 4, negativePrompt: 'blurry' });
    expect(Buffer.from(plain).equals(Buffer.from(cfg))).toBe(false);
  });

  it('reads sharded weights through their index, and names a shard missing from the download', async () => {
    const dir = fixtureModelFolder(tmp());
    const file = join(dir, 'transformer', 'diffusion_pytorch_model.safetensors');
    const header = await readSafetensorsHeader(file);
    const names = [...header.tensors.keys()];
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    for (const [i, part] of shards.entries()) {
      const shard = `diffusion_pytorch_model-0000${i + 1}-of-00002.safetensors`;
      const tensors = await Promise.all(part.map(async (n) => ({ name: n, dtype: 'F32' as const, shape: header.tensors.get(n)!.shape, data: await readTensorBytes(header, n) })));
      writeFileSync(join(dir, 'transformer', shard), encodeSafetensors(tensors));
      for (const n of part) weightMap[n] = shard;
    }
    renameSync(file, `${file}.unused`);
    writeFileSync(join(dir, 'transformer', 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const sharded = await generate(dir);
    expect(sharded).toHaveLength(256 * 256 * 3);

    renameSync(join(dir, 'transformer', 'diffusion_pytorch_model-00002-of-00002.safetensors'), join(dir, 'gone.safetensors'));
    await expect(generate(dir)).rejects.toThrow(/shard diffusion_pytorch_model-00002-of-00002\.safetensors listed in diffusion_pytorch_model\.safetensors\.index\.json is missing; the download is incomplete/);
  });

  it('refuses weights that do not fit the config, naming the tensor', async () => {
    const dir = fixtureModelFolder(tmp());
    const cfgFile = join(dir, 'transformer', 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), num_layers: 2, joint_attention_dim: 48 }));
    await expect(generate(dir)).rejects.toThrow(/transformer: tensor txt_norm\.weight has shape \[64\] but the config implies \[48\]/);
  });

  it('refuses a config the architecture does not support', async () => {
    const dir = fixtureModelFolder(tmp());
    const cfgFile = join(dir, 'transformer', 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), axes_dims_rope: [8, 12, 16] }));
    await expect(generate(dir)).rejects.toThrow(/axes_dims_rope \[8, 12, 16\] must add up to attention_head_dim 32/);
  });

  it.each([
    ['transformer', 'num_layers', 1e9, 256],
    ['transformer', 'num_attention_heads', 100000, 128],
    ['text_encoder', 'num_hidden_layers', 1e9, 256],
    ['vae', 'num_res_blocks', 1e6, 16],
  ])('refuses a %s config with %s %d at once, naming the key and the limit (it once built a graph forever)', async (component, key, value, max) => {
    const dir = fixtureModelFolder(tmp());
    const cfgFile = join(dir, component, 'config.json');
    const config = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown> & { text_config?: Record<string, unknown> };
    // Qwen2.5-VL configs keep the language model's sizes under text_config.
    if (config.text_config) config.text_config[key] = value;
    else config[key] = value;
    writeFileSync(cfgFile, JSON.stringify(config));
    const started = Date.now();
    const error = await generate(dir).then(
      () => undefined,
      (e: unknown) => e as StudioError,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(StudioError);
    expect(error!.code).toBe('model-unsupported');
    expect(error!.notice).toEqual({ key: 'error.configTooLarge', params: { file: cfgFile, key, value, max } });
  });

  it('refuses a tokenizer from another model', async () => {
    const dir = fixtureModelFolder(tmp());
    const { bundledQwenTokenizerDir } = await import('../tokenizer/qwen2-tokenizer.js');
    writeFileSync(join(dir, 'tokenizer', 'tokenizer.json'), readFileSync(join(bundledQwenTokenizerDir()!, 'tokenizer.json')));
    await expect(generate(dir)).rejects.toThrow(/tokenizer knows 151665 tokens but the text encoder embeds only 1024/);
  });

  it('refuses an image size the VAE and patching cannot produce', async () => {
    await expect(generate(fixtureModelFolder(tmp()), { ...request, width: 264 })).rejects.toThrow(/multiples of 16 pixels/);
  });
});
