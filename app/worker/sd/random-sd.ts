// Writes SD-Turbo-shaped model folders in the official layout with random weights, at any size: for
// benchmarks (a medium UNet on the CPU) and for live-mode latency runs. Every tensor is one the studio's
// graphs read, named and shaped as in a real checkpoint; the tokenizer is byte-level (no merges), so any
// prompt encodes. The pictures are noise: these folders measure the engine, not the art.

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensorsOf } from '../demo/tiny-qwen-image.js';
import { NoiseStream } from '../noise.js';
import { encodeSafetensors, type TensorToWrite } from '../safetensors/safetensors.js';
import { buildDecoderGraph, buildEncoderGraph, parseAutoencoderConfig } from './autoencoder-kl.js';
import { parseClipTextConfig } from './clip-text-config.js';
import { buildClipTextGraph } from './clip-text-graph.js';
import { parseUnetConfig } from './unet-config.js';
import { buildUnetGraph } from './unet-graph.js';

export interface RandomSdSpec {
  /** UNet block widths, heads per block (the config's attention_head_dim), layers per block. */
  readonly blockOut: readonly number[];
  readonly heads: readonly number[];
  readonly layersPerBlock: number;
  readonly textHidden: number;
  readonly textLayers: number;
  readonly vaeBlockOut: readonly number[];
  readonly groups: number;
}

/** The SD 2.1 / SD-Turbo layout at about a sixth of its width: 100 M UNet parameters. */
export const MEDIUM_SD_TURBO: RandomSdSpec = { blockOut: [128, 256, 512, 512], heads: [2, 4, 8, 8], layersPerBlock: 2, textHidden: 256, textLayers: 4, vaeBlockOut: [32, 64, 128, 128], groups: 32 };
/** The size of the reference fixtures' tiny SD-Turbo. */
export const TINY_SD_TURBO: RandomSdSpec = { blockOut: [8, 16, 16, 16], heads: [1, 2, 2, 2], layersPerBlock: 2, textHidden: 32, textLayers: 2, vaeBlockOut: [8, 8, 16, 16], groups: 4 };

function weights(tensors: ReadonlyMap<string, readonly number[]>, seed: number): Uint8Array {
  const stream = new NoiseStream(seed);
  const out: TensorToWrite[] = [];
  for (const [name, shape] of [...tensors].sort(([a], [b]) => a.localeCompare(b))) {
    const count = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const isNorm = shape.length === 1 && /norm|layer_norm/.test(name) && name.endsWith('.weight');
    const std = shape.length > 1 ? 1 / Math.sqrt(fanIn) : isNorm ? 0.1 : 0.05;
    const values = stream.draw(count).map((v) => (isNorm ? 1 : 0) + v * std);
    out.push({ name, dtype: 'F32', shape, data: new Uint8Array(values.buffer) });
  }
  return encodeSafetensors(out);
}

/** Writes a UNet component folder (config.json and random weights) for any supported config. */
export async function writeRandomUnet(dir: string, config: Record<string, unknown>, seed = 1): Promise<void> {
  const unet = parseUnetConfig(config, join(dir, 'config.json'));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'diffusion_pytorch_model.safetensors'), weights(tensorsOf((w) => buildUnetGraph(w, unet)), seed));
}

/** Writes `dir` as an SD-Turbo folder (StableDiffusionPipeline, Euler with trailing spacing) of `spec`'s size. */
export async function writeRandomSdTurbo(dir: string, spec: RandomSdSpec, seed = 1): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['unet', 'text_encoder', 'vae', 'scheduler', 'tokenizer']) await mkdir(join(dir, sub), { recursive: true });
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  const n = spec.blockOut.length;
  const unetConfig = {
    _class_name: 'UNet2DConditionModel',
    block_out_channels: spec.blockOut,
    attention_head_dim: spec.heads,
    layers_per_block: spec.layersPerBlock,
    cross_attention_dim: spec.textHidden,
    down_block_types: [...Array.from({ length: n - 1 }, () => 'CrossAttnDownBlock2D'), 'DownBlock2D'],
    up_block_types: ['UpBlock2D', ...Array.from({ length: n - 1 }, () => 'CrossAttnUpBlock2D')],
    norm_num_groups: spec.groups,
    use_linear_projection: true,
    in_channels: 4,
    out_channels: 4,
    sample_size: 64,
  };
  const unet = parseUnetConfig(unetConfig, 'unet/config.json');
  await writeFile(join(dir, 'unet', 'config.json'), json(unetConfig));
  await writeFile(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), weights(tensorsOf((w) => buildUnetGraph(w, unet)), seed));
  // A byte-level vocabulary: the 256 byte symbols, the same with </w>, start and end.
  const vocabSize = 514;
  const textConfig = { architectures: ['CLIPTextModel'], hidden_size: spec.textHidden, intermediate_size: 4 * spec.textHidden, num_hidden_layers: spec.textLayers, num_attention_heads: Math.max(1, spec.textHidden / 64), hidden_act: 'gelu', max_position_embeddings: 77, vocab_size: vocabSize, layer_norm_eps: 1e-5, eos_token_id: 2 };
  const text = parseClipTextConfig(textConfig, 'text_encoder/config.json', false);
  await writeFile(join(dir, 'text_encoder', 'config.json'), json(textConfig));
  await writeFile(join(dir, 'text_encoder', 'model.safetensors'), weights(tensorsOf((w) => buildClipTextGraph(w, text, { hiddenIndex: text.layers, finalNorm: true, pooled: false })), seed + 1));
  const vaeConfig = { _class_name: 'AutoencoderKL', block_out_channels: spec.vaeBlockOut, layers_per_block: 2, latent_channels: 4, norm_num_groups: spec.groups, scaling_factor: 0.18215 };
  const vae = parseAutoencoderConfig(vaeConfig, 'vae/config.json');
  await writeFile(join(dir, 'vae', 'config.json'), json(vaeConfig));
  await writeFile(
    join(dir, 'vae', 'diffusion_pytorch_model.safetensors'),
    weights(
      tensorsOf((w) => {
        buildDecoderGraph(w, vae);
        buildEncoderGraph(w, vae);
      }),
      seed + 2,
    ),
  );
  await writeFile(join(dir, 'scheduler', 'scheduler_config.json'), json({ _class_name: 'EulerDiscreteScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, timestep_spacing: 'trailing', steps_offset: 1 }));
  const vocab: Record<string, number> = {};
  // GPT-2's byte-to-character map, as CLIP's tokenizer uses it.
  const printable = [...Array.from({ length: 94 }, (_, i) => 0x21 + i), ...Array.from({ length: 12 }, (_, i) => 0xa1 + i), ...Array.from({ length: 82 }, (_, i) => 0xae + i)];
  let extra = 0;
  const chars = Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable.includes(b) ? b : 256 + extra++));
  chars.forEach((c, i) => {
    vocab[c] = i;
    vocab[`${c}</w>`] = 256 + i;
  });
  vocab['<|startoftext|>'] = 512;
  vocab['<|endoftext|>'] = 513;
  await writeFile(join(dir, 'tokenizer', 'vocab.json'), JSON.stringify(vocab));
  await writeFile(join(dir, 'tokenizer', 'merges.txt'), '#version: 0.2\n');
  await writeFile(join(dir, 'tokenizer', 'tokenizer_config.json'), json({ bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>', model_max_length: 77 }));
  await writeFile(
    join(dir, 'model_index.json'),
    json({ _class_name: 'StableDiffusionPipeline', scheduler: ['diffusers', 'EulerDiscreteScheduler'], text_encoder: ['transformers', 'CLIPTextModel'], tokenizer: ['transformers', 'CLIPTokenizer'], unet: ['diffusers', 'UNet2DConditionModel'], vae: ['diffusers', 'AutoencoderKL'] }),
  );
}
