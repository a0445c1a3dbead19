// Test helper: full-size Stable Diffusion folders without weights, in the official diffusers layout (with
// tokenizers, scheduler and model_index.json, so the family registry, the planner and `studio plan` open them).
// SDXL-Turbo comes from the tensor inventories of its official files (test-fixtures/full-size/sdxl-turbo, one
// weight variant: the fp16 files or the default float32 ones). SD-Turbo has no inventory here: it comes from
// its official configs (test-fixtures/full-size/sd-turbo) with float16 skeletons of every tensor the studio's
// graphs read, named and shaped as in the checkpoint (the UNet's count is the published 865,910,724).

import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensorsOf } from '../demo/tiny-qwen-image.js';
import { writeSkeleton, type Inventory } from '../safetensors/skeleton.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { decoderGraph, encoderGraph, parseAutoencoderConfig } from '../sd/autoencoder-kl.js';
import { parseClipTextConfig } from '../sd/clip-text-config.js';
import { clipTextGraph } from '../sd/clip-text-graph.js';
import { clipUses } from '../sd/sd-components.js';
import { parseUnetConfig } from '../sd/unet-config.js';
import { unetGraph } from '../sd/unet-graph.js';

const fixtures = new URL('../../../test-fixtures/', import.meta.url).pathname;
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

function tokenizers(dir: string, folders: readonly (readonly [string, string])[]): void {
  const from = join(fixtures, 'clip_tokenizer');
  for (const [name, pad] of folders) {
    mkdirSync(join(dir, name), { recursive: true });
    for (const f of ['vocab.json', 'merges.txt']) cpSync(join(from, f), join(dir, name, f));
    for (const f of ['tokenizer_config.json', 'special_tokens_map.json']) cpSync(join(from, pad, f), join(dir, name, f));
  }
}

function scheduler(dir: string, className: string): void {
  mkdirSync(join(dir, 'scheduler'), { recursive: true });
  writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: className, beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, timestep_spacing: 'trailing', steps_offset: 1 }));
}

/** `dir` as SDXL-Turbo with the fp16 variant files (`*.fp16.safetensors`) or the default float32 ones. */
export async function sdxlTurboSkeleton(dir: string, variant: 'fp16' | 'f32'): Promise<string> {
  const inventories = join(fixtures, 'full-size', 'sdxl-turbo');
  for (const f of readdirSync(inventories).filter((n) => n.endsWith('.json') && n.includes('.fp16.') === (variant === 'fp16'))) {
    await writeSkeleton(json(join(inventories, f)) as unknown as Inventory, dir);
  }
  tokenizers(dir, [
    ['tokenizer', ''],
    ['tokenizer_2', 'tokenizer_2'],
  ]);
  scheduler(dir, 'EulerAncestralDiscreteScheduler');
  writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionXLPipeline', force_zeros_for_empty_prompt: true }));
  return dir;
}

/** `dir` as SD-Turbo with fp16 variant files: every tensor the graphs read, shapes from the official configs. */
export async function sdTurboSkeleton(dir: string): Promise<string> {
  const config = (c: string) => json(join(fixtures, 'full-size', 'sd-turbo', `${c}.config.json`));
  const write = async (component: string, stem: string, read: (w: WeightSet) => unknown) => {
    const tensors = [...tensorsOf(read)].map(([name, shape]) => ({ name, dtype: 'F16', shape }));
    await writeSkeleton({ component, config: config(component), file_metadata: { format: 'pt' }, shards: [{ file: `${stem}.fp16.safetensors`, tensors }] }, dir);
  };
  const te = parseClipTextConfig(config('text_encoder'), 'text_encoder/config.json', false);
  const unet = parseUnetConfig(config('unet'), 'unet/config.json');
  const vae = parseAutoencoderConfig(config('vae'), 'vae/config.json');
  await write('text_encoder', 'model', (w) => clipTextGraph(w, te, clipUses(false, te.layers).first));
  await write('unet', 'diffusion_pytorch_model', (w) => unetGraph(w, unet));
  await write('vae', 'diffusion_pytorch_model', (w) => {
    decoderGraph(w, vae);
    encoderGraph(w, vae);
  });
  tokenizers(dir, [['tokenizer', '']]);
  scheduler(dir, 'EulerDiscreteScheduler');
  writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionPipeline' }));
  return dir;
}
