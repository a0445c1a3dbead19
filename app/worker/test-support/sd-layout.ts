// Test helper: the tiny SDXL-Turbo and SD-Turbo reference components assembled into the official diffusers
// layouts (model_index.json, unet/, vae/, text_encoder[_2]/, tokenizer[_2]/, scheduler/), with a CLIP
// tokenizer cut to the fixture encoders' 1,000-entry vocabulary: the real ids below 998 (bytes and the
// first merges), start and end tokens moved to 998 and 999 as the fixtures map them.

import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, readSafetensorsHeader, readTensorBytes } from '../safetensors/safetensors.js';

const fixtures = new URL('../../../test-fixtures/', import.meta.url).pathname;
const TINY_VOCAB = 1000;

function schedulerConfig(name: string): Record<string, unknown> {
  const data = JSON.parse(readFileSync(join(fixtures, 'sdxl', 'scheduler', 'schedules.json'), 'utf8')) as { configs: Record<string, Record<string, unknown>> };
  return data.configs[name]!;
}

function tinyTokenizer(dir: string, pad: 'eos' | 'bang'): void {
  mkdirSync(dir, { recursive: true });
  const full = JSON.parse(readFileSync(join(fixtures, 'clip_tokenizer', 'vocab.json'), 'utf8')) as Record<string, number>;
  const vocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(full)) if (id < TINY_VOCAB - 2) vocab[token] = id;
  vocab['<|startoftext|>'] = TINY_VOCAB - 2;
  vocab['<|endoftext|>'] = TINY_VOCAB - 1;
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
  const merges = readFileSync(join(fixtures, 'clip_tokenizer', 'merges.txt'), 'utf8').split('\n');
  // Merge k makes token 512 + k: keep the ones whose result is in the cut vocabulary.
  writeFileSync(join(dir, 'merges.txt'), `${merges.slice(0, 1 + TINY_VOCAB - 2 - 512).join('\n')}\n`);
  const special = { lstrip: false, normalized: true, rstrip: false, single_word: false, special: true };
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      added_tokens_decoder: {
        ...(pad === 'bang' ? { '0': { ...special, content: '!', normalized: false } } : {}),
        [TINY_VOCAB - 2]: { ...special, content: '<|startoftext|>' },
        [TINY_VOCAB - 1]: { ...special, content: '<|endoftext|>' },
      },
      bos_token: '<|startoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      pad_token: pad === 'bang' ? '!' : '<|endoftext|>',
      do_lower_case: true,
      model_max_length: 77,
      tokenizer_class: 'CLIPTokenizer',
    }),
  );
}

function copyComponent(from: string, to: string, weights: string): void {
  mkdirSync(to, { recursive: true });
  cpSync(join(from, 'config.json'), join(to, 'config.json'));
  cpSync(join(from, weights), join(to, weights));
}

/** Rewrites a component's weights as the fp16 variant file (`*.fp16.safetensors`) in place of the default one. */
export async function toFp16Variant(componentDir: string, stem: string): Promise<void> {
  const file = join(componentDir, `${stem}.safetensors`);
  const header = await readSafetensorsHeader(file);
  const tensors = [];
  for (const t of header.tensors.values()) {
    const f32 = new Float32Array((await readTensorBytes(header, t.name)).slice().buffer);
    const f16 = new Uint16Array(f32.length);
    for (let i = 0; i < f32.length; i++) f16[i] = halfBits(f32[i]!);
    tensors.push({ name: t.name, dtype: 'F16' as const, shape: t.shape, data: new Uint8Array(f16.buffer) });
  }
  writeFileSync(join(componentDir, `${stem}.fp16.safetensors`), encodeSafetensors(tensors));
  rmSync(file);
}

function halfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign | (exp < -10 ? 0 : (mant | 0x800000) >> (1 - exp + 13));
  if (exp >= 31) return sign | 0x7c00;
  const rounded = (exp << 10) | (mant >> 13);
  return sign | (rounded + ((mant >> 12) & 1));
}

/** An SDXL-Turbo folder: two encoders and tokenizers, the sdxl-turbo Euler ancestral scheduler. */
export function sdxlTurboFolder(parent: string, name = 'tiny-sdxl-turbo'): string {
  const dir = join(parent, name);
  const src = join(fixtures, 'sdxl');
  copyComponent(join(src, 'unet'), join(dir, 'unet'), 'diffusion_pytorch_model.safetensors');
  copyComponent(join(src, 'vae'), join(dir, 'vae'), 'diffusion_pytorch_model.safetensors');
  copyComponent(join(src, 'text_encoder'), join(dir, 'text_encoder'), 'model.safetensors');
  copyComponent(join(src, 'text_encoder_2'), join(dir, 'text_encoder_2'), 'model.safetensors');
  tinyTokenizer(join(dir, 'tokenizer'), 'eos');
  tinyTokenizer(join(dir, 'tokenizer_2'), 'bang');
  mkdirSync(join(dir, 'scheduler'));
  writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(schedulerConfig('sdxl_turbo_euler_ancestral')));
  writeFileSync(
    join(dir, 'model_index.json'),
    JSON.stringify({
      _class_name: 'StableDiffusionXLPipeline',
      _diffusers_version: '0.24.0.dev0',
      force_zeros_for_empty_prompt: true,
      scheduler: ['diffusers', 'EulerAncestralDiscreteScheduler'],
      text_encoder: ['transformers', 'CLIPTextModel'],
      text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'],
      tokenizer: ['transformers', 'CLIPTokenizer'],
      tokenizer_2: ['transformers', 'CLIPTokenizer'],
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AutoencoderKL'],
    }),
  );
  return dir;
}

/** An SD-Turbo folder: one encoder (pad "!"), the SD 2.1 UNet, the sd-turbo Euler scheduler. */
export function sdTurboFolder(parent: string, name = 'tiny-sd-turbo'): string {
  const dir = join(parent, name);
  const src = join(fixtures, 'sdxl', 'sd_turbo');
  copyComponent(join(src, 'unet'), join(dir, 'unet'), 'diffusion_pytorch_model.safetensors');
  copyComponent(join(src, 'vae'), join(dir, 'vae'), 'diffusion_pytorch_model.safetensors');
  copyComponent(join(src, 'text_encoder'), join(dir, 'text_encoder'), 'model.safetensors');
  tinyTokenizer(join(dir, 'tokenizer'), 'bang');
  mkdirSync(join(dir, 'scheduler'));
  writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(schedulerConfig('sd_turbo_euler')));
  writeFileSync(
    join(dir, 'model_index.json'),
    JSON.stringify({
      _class_name: 'StableDiffusionPipeline',
      _diffusers_version: '0.24.0.dev0',
      requires_safety_checker: false,
      safety_checker: [null, null],
      feature_extractor: [null, null],
      scheduler: ['diffusers', 'EulerDiscreteScheduler'],
      text_encoder: ['transformers', 'CLIPTextModel'],
      tokenizer: ['transformers', 'CLIPTokenizer'],
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AutoencoderKL'],
    }),
  );
  return dir;
}

/** The kohya SDXL LoRA of the fixtures (UNet and both text encoders). */
export const SDXL_LORA = join(fixtures, 'sdxl', 'lora', 'lora_kohya_sdxl.safetensors');
