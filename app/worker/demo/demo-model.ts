// The built-in demo model: a tiny text-to-image pipeline of the same shape as the real ones (text
// encoder, flow-matching denoiser, latent decoder) whose weights the project generates from a fixed seed.
// It paints abstract colour fields that follow the prompt and the seed; it is not a picture model.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType } from '../onnx/onnx-model.js';
import { GraphBuilder, attr } from '../onnx/graph-builder.js';
import { gaussianNoise } from '../noise.js';
import { encodeSafetensors, type SafetensorsHeader, type TensorToWrite } from '../safetensors/safetensors.js';

export const DEMO_CLASS_NAME = 'StudioDemoPipeline';
export const DEMO_WEIGHTS_FILE = 'demo.safetensors';
/** Bumped whenever the weights or graphs change, so stale generated folders are rebuilt. */
export const DEMO_FORMAT_VERSION = 4;

export const DEMO_CONFIG = {
  vocabSize: 258, // 256 UTF-8 byte values, then BOS and PAD
  bosId: 256,
  maxTokens: 512,
  textDim: 32,
  latentChannels: 4,
  patternTerms: 24,
  decoderHidden: 16,
  /** How much of the current latent's local average the denoiser keeps: fine texture. */
  noiseCarry: 0.4,
  /** How far the seed's coarse noise bends the pattern: what makes seeds differ. */
  warpGain: 7,
  vaeScale: 8,
} as const;

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly std: number;
  readonly mean?: number;
}

const C = DEMO_CONFIG;

export const DEMO_WEIGHTS: readonly WeightSpec[] = [
  { name: 'text_encoder.embed_tokens', shape: [C.vocabSize, C.textDim], std: 1 },
  { name: 'text_encoder.embed_positions', shape: [C.maxTokens, C.textDim], std: 0.3 },
  { name: 'text_encoder.fc1.weight', shape: [C.textDim, C.textDim], std: 1 / Math.sqrt(C.textDim) },
  { name: 'text_encoder.fc1.bias', shape: [C.textDim], std: 0.1 },
  { name: 'text_encoder.fc2.weight', shape: [C.textDim, C.textDim], std: 3 / Math.sqrt(C.textDim) },
  { name: 'text_encoder.fc2.bias', shape: [C.textDim], std: 0.1 },
  { name: 'denoiser.frequencies', shape: [2, C.patternTerms], std: 1.6 },
  { name: 'denoiser.phase.weight', shape: [C.textDim, C.patternTerms], std: 2 },
  { name: 'denoiser.mix.weight', shape: [C.textDim, C.patternTerms * C.latentChannels], std: 0.35 },
  { name: 'decoder.conv_in.weight', shape: [C.decoderHidden, C.latentChannels, 1, 1], std: 0.8 },
  { name: 'decoder.conv_in.bias', shape: [C.decoderHidden], std: 0.1 },
  { name: 'decoder.conv_out.weight', shape: [3, C.decoderHidden, 1, 1], std: 0.45 },
  { name: 'decoder.conv_out.bias', shape: [3], std: 0.2 },
];

/** Deterministic weights: tensor i is drawn from the noise stream seeded with 1000 + i. */
export function makeDemoWeights(): TensorToWrite[] {
  return DEMO_WEIGHTS.map((spec, i) => {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = gaussianNoise(1000 + i, count).map((v) => (spec.mean ?? 0) + v * spec.std);
    return { name: spec.name, dtype: 'F32', shape: spec.shape, data: new Uint8Array(values.buffer) };
  });
}

/** Writes the demo model folder: model_index.json and one safetensors file. */
export async function writeDemoModel(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights = encodeSafetensors(makeDemoWeights(), { format: 'pt', studio_demo_version: String(DEMO_FORMAT_VERSION) });
  await writeFile(join(dir, DEMO_WEIGHTS_FILE), weights);
  const index = {
    _class_name: DEMO_CLASS_NAME,
    _studio_demo_version: DEMO_FORMAT_VERSION,
    name: 'Studio demo (abstract patterns)',
    weights: DEMO_WEIGHTS_FILE,
  };
  await writeFile(join(dir, 'model_index.json'), `${JSON.stringify(index, null, 2)}\n`);
}

/** Checks that every weight is present with its expected shape and dtype, naming the first that is not. */
export function checkDemoWeights(header: SafetensorsHeader): void {
  for (const spec of DEMO_WEIGHTS) {
    const t = header.tensors.get(spec.name);
    if (!t) throw new Error(`${DEMO_WEIGHTS_FILE}: tensor ${spec.name} is missing`);
    if (t.dtype !== 'F32' || t.shape.join() !== spec.shape.join()) {
      throw new Error(`${DEMO_WEIGHTS_FILE}: tensor ${spec.name} is ${t.dtype}[${t.shape.join(', ')}], expected F32[${spec.shape.join(', ')}]`);
    }
  }
}

function weight(g: GraphBuilder, header: SafetensorsHeader, name: string): string {
  const t = header.tensors.get(name);
  if (!t) throw new Error(`missing weight ${name}`);
  return g.external(name, DataType.FLOAT, t.shape, { location: DEMO_WEIGHTS_FILE, offset: t.offset, length: t.byteLength });
}

/** ids, positions [1, L] int64 and mask [1, L] float -> cond [1, textDim]: a masked mean of token features. */
export function buildDemoTextEncoder(header: SafetensorsHeader): Uint8Array {
  const g = new GraphBuilder('demo_text_encoder');
  const ids = g.input('input_ids', DataType.INT64, [1, 'tokens']);
  const pos = g.input('positions', DataType.INT64, [1, 'tokens']);
  const mask = g.input('attention_mask', DataType.FLOAT, [1, 'tokens']);
  const tok = g.op('Gather', [weight(g, header, 'text_encoder.embed_tokens'), ids], { axis: attr.int(0) });
  const posEmb = g.op('Gather', [weight(g, header, 'text_encoder.embed_positions'), pos], { axis: attr.int(0) });
  const h = g.op('Tanh', [g.linear(g.op('Add', [tok, posEmb]), weight(g, header, 'text_encoder.fc1.weight'), weight(g, header, 'text_encoder.fc1.bias'))]);
  const m = g.op('Unsqueeze', [mask, g.constInt64('axis2', [2])]);
  const axis1 = g.constInt64('axis1', [1]);
  const summed = g.op('ReduceSum', [g.op('Mul', [h, m]), axis1], { keepdims: attr.int(0) });
  const count = g.op('ReduceSum', [mask, axis1], { keepdims: attr.int(1) });
  const pooled = g.op('Div', [summed, count]);
  const cond = g.op('Tanh', [g.linear(pooled, weight(g, header, 'text_encoder.fc2.weight'), weight(g, header, 'text_encoder.fc2.bias'))]);
  g.output(cond, 'cond', DataType.FLOAT, [1, C.textDim]);
  return g.encode();
}

/**
 * latents [1, C, h, w], sigma [1], cond [1, textDim], coords [h*w, 2] -> velocity [1, C, h, w].
 * The clean estimate is a sum of prompt-dependent waves plus the latent's own blurred low frequencies;
 * the velocity is (x - x0) / sigma, the flow-matching parameterisation the real models use.
 */
export function buildDemoDenoiser(header: SafetensorsHeader): Uint8Array {
  const g = new GraphBuilder('demo_denoiser');
  const x = g.input('latents', DataType.FLOAT, [1, C.latentChannels, 'height', 'width']);
  const sigma = g.input('sigma', DataType.FLOAT, [1]);
  const cond = g.input('cond', DataType.FLOAT, [1, C.textDim]);
  const coords = g.input('coords', DataType.FLOAT, ['pixels', 2]);
  // The seed shows through the latent's lowest frequencies, which bend the wave field's coordinates.
  const coarse = g.op('AveragePool', [x], { kernel_shape: attr.ints([16, 16]), strides: attr.ints([16, 16]), ceil_mode: attr.int(1) });
  const low = g.op('Resize', [coarse, '', '', g.op('Shape', [x])], { mode: attr.string('linear') });
  const lowXY = g.op('Slice', [low, g.constInt64('c0', [0]), g.constInt64('c2', [2]), g.constInt64('axis_c', [1])]);
  const warp = g.op('Transpose', [g.op('Reshape', [lowXY, g.constInt64('warp_shape', [2, -1])])], { perm: attr.ints([1, 0]) });
  const warped = g.op('Add', [coords, g.op('Mul', [warp, g.constFloat('warp_gain', [C.warpGain], [1])])]);
  const phase = g.op('MatMul', [cond, weight(g, header, 'denoiser.phase.weight')]);
  const waves = g.op('Sin', [g.op('Add', [g.op('MatMul', [warped, weight(g, header, 'denoiser.frequencies')]), phase])]);
  const mix = g.op('Reshape', [g.op('MatMul', [cond, weight(g, header, 'denoiser.mix.weight')]), g.constInt64('mix_shape', [C.patternTerms, C.latentChannels])]);
  const x0Flat = g.op('Tanh', [g.op('MatMul', [waves, mix])]);
  const x0 = g.op('Reshape', [g.op('Transpose', [x0Flat], { perm: attr.ints([1, 0]) }), g.op('Shape', [x])]);
  const pool = { kernel_shape: attr.ints([5, 5]), pads: attr.ints([2, 2, 2, 2]), count_include_pad: attr.int(0) };
  const blurred = g.op('AveragePool', [x], pool);
  const estimate = g.op('Add', [x0, g.op('Mul', [blurred, g.constFloat('carry', [C.noiseCarry], [1])])]);
  const v = g.op('Div', [g.op('Sub', [x, estimate]), sigma]);
  g.output(v, 'velocity', DataType.FLOAT, [1, C.latentChannels, 'height', 'width']);
  return g.encode();
}

/** latents [1, C, h, w] -> image [1, 3, 8h, 8w] in [0, 1]. */
export function buildDemoDecoder(header: SafetensorsHeader): Uint8Array {
  const g = new GraphBuilder('demo_decoder');
  const z = g.input('latents', DataType.FLOAT, [1, C.latentChannels, 'height', 'width']);
  const h = g.op('Tanh', [g.op('Conv', [z, weight(g, header, 'decoder.conv_in.weight'), weight(g, header, 'decoder.conv_in.bias')])]);
  const scales = g.constFloat('scales', [1, 1, C.vaeScale, C.vaeScale], [4]);
  const up = g.op('Resize', [h, '', scales], { mode: attr.string('linear') });
  const rgb = g.op('Sigmoid', [g.op('Conv', [up, weight(g, header, 'decoder.conv_out.weight'), weight(g, header, 'decoder.conv_out.bias')])]);
  g.output(rgb, 'image', DataType.FLOAT, [1, 3, 'image_height', 'image_width']);
  return g.encode();
}
