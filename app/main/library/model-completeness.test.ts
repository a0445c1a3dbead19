import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtInDemoModelDir } from '../paths.js';
import { nextPageUrl } from './hub-client.js';
import { configFileFor, missingModelFiles } from './model-completeness.js';

describe('model folder completeness', () => {
  it('finds the built demo model complete, and names each piece taken out of a copy', async () => {
    expect(await missingModelFiles(builtInDemoModelDir())).toEqual([]);
    const copy = mkdtempSync(join(tmpdir(), 'complete-'));
    cpSync(builtInDemoModelDir(), copy, { recursive: true });
    rmSync(join(copy, 'scheduler', 'scheduler_config.json'));
    rmSync(join(copy, 'vae', 'diffusion_pytorch_model.safetensors'));
    rmSync(join(copy, 'tokenizer'), { recursive: true });
    expect(await missingModelFiles(copy)).toEqual(['scheduler/scheduler_config.json', 'tokenizer/tokenizer_config.json', 'vae/*.safetensors']);
    // Components outside the pull's include globs are not its business.
    expect(await missingModelFiles(copy, ['model_index.json', 'transformer/*', 'text_encoder/*'])).toEqual([]);
  });

  it('checks every shard a safetensors index lists, and refuses an unreadable index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shards-'));
    cpSync(builtInDemoModelDir(), dir, { recursive: true });
    rmSync(join(dir, 'transformer', 'diffusion_pytorch_model.safetensors'));
    const weightMap = { a: 'part-1.safetensors', b: 'part-2.safetensors', c: 'part-1.safetensors' };
    writeFileSync(join(dir, 'transformer', 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    writeFileSync(join(dir, 'transformer', 'part-1.safetensors'), 'x');
    expect(await missingModelFiles(dir)).toEqual(['transformer/part-2.safetensors']);
    writeFileSync(join(dir, 'transformer', 'diffusion_pytorch_model.safetensors.index.json'), '{"weight_map": {}}');
    expect(await missingModelFiles(dir)).toEqual(['transformer/diffusion_pytorch_model.safetensors.index.json (not a valid shard index)']);
    writeFileSync(join(dir, 'model_index.json'), '{ cut sho');
    expect(await missingModelFiles(dir)).toEqual(['model_index.json (not valid JSON)']);
  });

  it('a folder without model_index.json (a LoRA repository) has nothing to check', async () => {
    expect(await missingModelFiles(mkdtempSync(join(tmpdir(), 'lora-repo-')))).toEqual([]);
  });

  it('knows which config file each kind of component keeps', () => {
    expect(configFileFor('FlowMatchEulerDiscreteScheduler')).toBe('scheduler_config.json');
    expect(configFileFor('CLIPTokenizerFast')).toBe('tokenizer_config.json');
    expect(configFileFor('CLIPImageProcessor')).toBe('preprocessor_config.json');
    expect(configFileFor('UNet2DConditionModel')).toBe('config.json');
  });
});

describe('the next page of a hub listing', () => {
  const page = 'https://hf-mirror.com/api/models/Qwen/Qwen-Image/tree/main?recursive=true';
  it('follows rel="next" among other links, relative or absolute', () => {
    expect(nextPageUrl('<https://hf-mirror.com/api/x?cursor=abc>; rel="next"', page)).toBe('https://hf-mirror.com/api/x?cursor=abc');
    expect(nextPageUrl('</api/x?cursor=a,b>; rel="prev", </api/x?cursor=c>; rel=next', page)).toBe('https://hf-mirror.com/api/x?cursor=c');
    expect(nextPageUrl('<https://hf-mirror.com/api/x?cursor=z>; rel="prev"', page)).toBeUndefined();
    expect(nextPageUrl(null, page)).toBeUndefined();
  });

  it('keeps a mirror listing on the mirror when the hub\'s absolute link is passed through', () => {
    expect(nextPageUrl('<https://huggingface.co/api/models/Qwen/Qwen-Image/tree/main?recursive=true&cursor=eyJ>; rel="next"', page)).toBe(
      'https://hf-mirror.com/api/models/Qwen/Qwen-Image/tree/main?recursive=true&cursor=eyJ',
    );
  });
});
