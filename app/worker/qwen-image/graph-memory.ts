// The memory terms of a plan, taken from the graphs the engine builds for a precision and an image size:
// weights as the sessions hold them (as stored, or the converted copies ONNX Runtime folds at load) and the
// peak of live activations when the nodes run in order (graph-analysis). The planner (shared/vram-plan)
// combines them per plan with the device's runtime overhead and allocator factor.

import { PLANNED_TEXT_TOKENS, type GraphMemory } from '../../shared/vram-plan.js';
import { componentPrecision, type Precision } from '../../shared/precision.js';
import { analyzeGraph, estimateMemory, type NodeAnalysis } from '../onnx/graph-analysis.js';
import type { QwenFolder } from './qwen-folder.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { DTYPE_BYTES } from '../safetensors/safetensors.js';
import { readConfig } from './components.js';
import { parseTextEncoderConfig, type TextEncoderConfig } from './text-encoder-config.js';
import { textEncoderGraph } from './text-encoder-graph.js';
import { parseTransformerConfig, type TransformerConfig } from './transformer-config.js';
import { isModulationModule, transformerGraph } from './transformer-graph.js';
import { parseVaeConfig, vaeScale, type VaeConfig } from './vae-config.js';
import { vaeDecoderGraph } from './vae-graph.js';
import { DEFAULT_TILES } from './vae-tiles.js';


/** Which attention nodes run without a fused kernel on a provider: their [B, H, S, T] scores are counted. */
export type AttentionKernels = (n: NodeAnalysis) => boolean;

/**
 * ONNX Runtime's CPU MultiHeadAttention uses its flash kernel without a mask or bias; CUDA's flash and
 * memory-efficient kernels need no score buffer either (the studio passes no bias at batch 1). DirectML's
 * kernel is not documented to be fused: its scores are counted.
 */
export function attentionKernels(provider: 'cpu' | 'cuda' | 'dml'): AttentionKernels {
  return (n) => provider === 'dml' || n.node.inputs.length > 3;
}

/** Bytes a stored tensor takes once the session holds it in `p` (as stored when the types match). */
function heldBytes(w: WeightSet, name: string, p: Precision): number {
  const r = w.get(name);
  const elements = r.byteLength / DTYPE_BYTES[r.dtype];
  const stored = DTYPE_BYTES[r.dtype];
  return r.dtype === 'F32' || r.dtype === 'F16' || r.dtype === 'BF16' ? elements * (p === 'f32' ? 4 : stored === 4 ? 2 : stored) : r.byteLength;
}

function transformerInputs(cfg: TransformerConfig, width: number, height: number, textTokens: number): Record<string, number[]> {
  const image = Math.floor(height / 16) * Math.floor(width / 16);
  const dim = cfg.numHeads * cfg.headDim;
  const half = cfg.headDim / 2;
  const shapes: Record<string, number[]> = {
    hidden_states: [1, image, cfg.inChannels],
    encoder_hidden_states: [1, textTokens, cfg.jointAttentionDim],
    img_cos: [image, half],
    img_sin: [image, half],
    txt_cos: [textTokens, half],
    txt_sin: [textTokens, half],
    'mod.out': [1, 2 * dim],
  };
  for (let i = 0; i < cfg.numLayers; i++) shapes[`mod.${i}`] = [1, 12 * dim];
  return shapes;
}

export interface GraphMemoryInput {
  readonly transformer: { readonly weights: WeightSet; readonly config: TransformerConfig };
  readonly textEncoder: { readonly weights: WeightSet; readonly config: TextEncoderConfig };
  readonly vae: { readonly weights: WeightSet; readonly config: VaeConfig };
}

/** The memory terms of the three components' graphs at this size and precision on this provider. */
export function graphMemory(m: GraphMemoryInput, width: number, height: number, precision: Precision, provider: 'cpu' | 'cuda' | 'dml', textTokens = PLANNED_TEXT_TOKENS): GraphMemory {
  const unfused = attentionKernels(provider);
  const tp = componentPrecision(precision, 'denoiser');
  const t = m.transformer;
  const tGraph = transformerGraph(t.weights, t.config, { precision: tp }).graph();
  const tMem = estimateMemory(analyzeGraph(tGraph, transformerInputs(t.config, width, height, textTokens)), unfused);
  // Per-block weights as held, from the stored tensors of each block (the modulation is not in these graphs).
  const blockWeights = Array.from({ length: t.config.numLayers }, (_, i) =>
    t.weights
      .names()
      .filter((n) => n.startsWith(`transformer_blocks.${i}.`) && !isModulationModule(n))
      .reduce((a, n) => a + heldBytes(t.weights, n, tp), 0),
  );
  const blocksTotal = blockWeights.reduce((a, b) => a + b, 0);
  const modulation = Array.from({ length: t.config.numLayers }, (_, i) =>
    t.weights
      .names()
      .filter((n) => n.startsWith(`transformer_blocks.${i}.`) && isModulationModule(n))
      .reduce((a, n) => a + heldBytes(t.weights, n, 'f32'), 0),
  );

  const e = m.textEncoder;
  const ep = componentPrecision(precision, 'text-encoder');
  const eTokens = textTokens + 34;
  const eMem = estimateMemory(
    analyzeGraph(textEncoderGraph(e.weights, e.config, { precision: ep }).graph(), {
      input_ids: [1, eTokens],
      position_ids: [1, eTokens],
      rope_cos: [eTokens, e.config.headDim / 2],
      rope_sin: [eTokens, e.config.headDim / 2],
    }),
    unfused,
  );

  const v = m.vae;
  const vp = componentPrecision(precision, 'vae');
  const scale = vaeScale(v.config);
  const vaeAt = (h: number, w: number) =>
    estimateMemory(analyzeGraph(vaeDecoderGraph(v.weights, v.config, { precision: vp }).graph(), { z: [1, v.config.zDim, h, w] }), unfused);
  const vWhole = vaeAt(Math.floor(height / scale), Math.floor(width / scale));
  const tile = Math.min(DEFAULT_TILES.tile, Math.floor(height / scale), Math.floor(width / scale));
  const vTiled = vaeAt(tile, tile);
  // The tiled decode also holds the blended image and its weights in float32 on the host side.
  const tiledHost = width * height * 4 * 4;

  return {
    precision,
    textEncoderWeights: eMem.weightBytes,
    textEncoderActivations: eMem.peakActivationBytes,
    blockWeights,
    transformerOtherWeights: Math.max(0, tMem.weightBytes - blocksTotal),
    transformerActivations: tMem.peakActivationBytes,
    modulationWeightsPerBlock: Math.max(...modulation, 0),
    modulationOtherWeights: t.weights
      .names()
      .filter((n) => isModulationModule(n) && !n.startsWith('transformer_blocks.'))
      .reduce((a, n) => a + heldBytes(t.weights, n, 'f32'), 0),
    vaeWeights: vWhole.weightBytes,
    vaeActivations: vWhole.peakActivationBytes,
    vaeTiledActivations: vTiled.peakActivationBytes + tiledHost,
    attentionScores: Math.max(tMem.attentionWorkspaceBytes, eMem.attentionWorkspaceBytes, vWhole.attentionWorkspaceBytes),
    // Converted when most weight bytes are folded copies rather than the mapped files.
    converted: { transformer: tMem.mappedBytes < tMem.weightBytes / 2, textEncoder: eMem.mappedBytes < eMem.weightBytes / 2, vae: vWhole.mappedBytes < vWhole.weightBytes / 2 },
  };
}

/** Opens the three components' headers and configs (no weight is read). */
export async function graphMemoryInput(folder: QwenFolder): Promise<GraphMemoryInput> {
  const { components: c, root } = folder;
  const [tw, ew, vw] = await Promise.all([
    openWeightSet(c.transformer, ['diffusion_pytorch_model'], root, 'transformer'),
    openWeightSet(c.textEncoder, ['model'], root, 'text encoder'),
    openWeightSet(c.vae, ['diffusion_pytorch_model'], root, 'VAE'),
  ]);
  return {
    transformer: { weights: tw, config: parseTransformerConfig(await readConfig(c.transformer), 'transformer/config.json') },
    textEncoder: { weights: ew, config: parseTextEncoderConfig(await readConfig(c.textEncoder), 'text_encoder/config.json') },
    vae: { weights: vw, config: parseVaeConfig(await readConfig(c.vae), 'vae/config.json') },
  };
}
