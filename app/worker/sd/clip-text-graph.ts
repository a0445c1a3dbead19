// The CLIP text transformer as an ONNX graph: token and position embeddings, pre-LayerNorm causal
// self-attention layers, the final LayerNorm, EOS pooling and the optional text projection.
//
// Inputs: input_ids [B, L] int64 (no padding mask, as the pipelines call it). Outputs (float32): `hidden` =
// hidden_states[hiddenIndex] (index 0 is the embeddings, i the output of layer i, before the final LayerNorm
// unless it is the last and `finalNorm`), and with `pooled`: `pooled` [B, hidden] and, when the model has
// one, `text_embeds` [B, projection].
//
// Half precision as the Qwen-Image text encoder does it (qwen-image/graph-ops): the residual stream and the
// LayerNorms in float32, the linears, the activation and causal attention (the fused kernel, no [L, L] mask)
// in the compute type, the weights as stored.

import { dirname } from 'node:path';
import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import { commonRoot, type WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, ModelGraph, type GraphPrecision } from '../qwen-image/graph-ops.js';
import type { ClipTextConfig } from './clip-text-config.js';

export interface ClipGraphOptions {
  /** Which entry of hidden_states to output as `hidden`, 0..layers. */
  readonly hiddenIndex: number;
  /** Apply final_layer_norm to `hidden` (SD 2.x takes the normed last layer; SDXL the raw penultimate one). */
  readonly finalNorm: boolean;
  /** Also output the pooled EOS state (and text_embeds when the model projects). */
  readonly pooled: boolean;
  /** Also output every hidden state [layers + 1, B, L, hidden] (fixture checks). */
  readonly allHiddenStates?: boolean;
  /** LoRA k gets the strength input lora_scale_k [1]. */
  readonly loras?: readonly LoraWeights[];
}

export function clipTextRoot(weights: WeightSet, loras: readonly LoraWeights[] = []): string {
  return commonRoot([weights.root, ...loras.map((l) => dirname(l.file))]);
}

export function buildClipTextGraph(weights: WeightSet, cfg: ClipTextConfig, o: ClipGraphOptions, precision: GraphPrecision = {}): Uint8Array {
  return clipTextGraph(weights, cfg, o, precision).encode(ENGINE_OPSETS);
}

export function clipTextGraph(weights: WeightSet, cfg: ClipTextConfig, o: ClipGraphOptions, precision: GraphPrecision = {}): ModelGraph {
  const loras = o.loras ?? [];
  const g = new ModelGraph('clip_text', weights, clipTextRoot(weights, loras), undefined, precision);
  loras.forEach((l, k) => g.addLora(l, `lora_scale_${k}`));
  const { hidden, heads, headDim } = cfg;
  const p = 'text_model';
  const ids = g.input('input_ids', DataType.INT64, ['batch', 'tokens']);
  /** LayerNorm on the stream, in the stream's type. */
  const layerNorm = (x: string, prefix: string) =>
    g.op('LayerNormalization', [x, g.ws(`${prefix}.weight`, [hidden]), g.ws(`${prefix}.bias`, [hidden])], { axis: attr.int(-1), epsilon: attr.float(cfg.layerNormEps), stash_type: attr.int(1) });
  const act = (x: string) =>
    cfg.activation === 'gelu' ? g.op('Gelu', [x], {}, { domain: 'com.microsoft' }) : g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.scalar(1.702, g.computeType)])])]);

  // Position ids 0..L-1 are the first L rows of the position table.
  const tokens = g.op('Slice', [g.op('Shape', [ids]), g.ints([1]), g.ints([2])]);
  const positionRows = g.op('Range', [g.constInt64('zero', [0], []), g.op('Squeeze', [tokens, g.ints([0])]), g.constInt64('one', [1], [])]);
  const positions = g.embedding(`${p}.embeddings.position_embedding.weight`, positionRows, [cfg.positions, hidden]);
  let x = g.op('Add', [g.embedding(`${p}.embeddings.token_embedding.weight`, ids, [cfg.vocabSize, hidden]), positions]);
  const states = [x];
  const needed = o.pooled || o.allHiddenStates ? cfg.layers : o.hiddenIndex;
  for (let i = 0; i < needed; i++) {
    const l = `${p}.encoder.layers.${i}`;
    const h = g.toCompute(layerNorm(x, `${l}.layer_norm1`));
    const q = g.dense(h, `${l}.self_attn.q_proj`, hidden, hidden);
    const k = g.dense(h, `${l}.self_attn.k_proj`, hidden, hidden);
    const v = g.dense(h, `${l}.self_attn.v_proj`, hidden, hidden);
    const attn = g.fusedAttention(q, k, v, heads, headDim, { causal: true });
    x = g.op('Add', [x, g.dense(attn, `${l}.self_attn.out_proj`, hidden, hidden, { toStream: true })]);
    const m = g.toCompute(layerNorm(x, `${l}.layer_norm2`));
    x = g.op('Add', [x, g.dense(act(g.dense(m, `${l}.mlp.fc1`, hidden, cfg.intermediate)), `${l}.mlp.fc2`, cfg.intermediate, hidden, { toStream: true })]);
    states.push(x);
  }
  const selected = states[o.hiddenIndex]!;
  g.output(g.toOutput(o.finalNorm ? layerNorm(selected, `${p}.final_layer_norm`) : selected), 'hidden', DataType.FLOAT, ['batch', 'tokens', hidden]);
  if (o.allHiddenStates) {
    const stacked = g.op('Concat', states.map((s) => g.op('Unsqueeze', [s, g.ints([0])])), { axis: attr.int(0) });
    g.output(g.toOutput(stacked), 'all_hidden_states', DataType.FLOAT, [cfg.layers + 1, 'batch', 'tokens', hidden]);
    g.output(g.toOutput(layerNorm(x, `${p}.final_layer_norm`)), 'last_hidden_state', DataType.FLOAT, ['batch', 'tokens', hidden]);
  }
  if (o.pooled) {
    const last = layerNorm(x, `${p}.final_layer_norm`);
    // The legacy configs pool at argmax(ids): the first end token, the largest id of the real vocabulary.
    // ArgMax over float32 (ids are exact there): CUDA registers ArgMax for float types only.
    const where = cfg.eosTokenId === 2 ? ids : g.op('Equal', [ids, g.constInt64('eos', [cfg.eosTokenId], [])]);
    const at = g.op('ArgMax', [g.op('Cast', [where], { to: attr.int(DataType.FLOAT) })], { axis: attr.int(1), keepdims: attr.int(1) });
    const pooled = g.op('GatherND', [last, at], { batch_dims: attr.int(1) });
    g.output(g.toOutput(pooled), 'pooled', DataType.FLOAT, ['batch', hidden]);
    if (cfg.projectionDim !== undefined) {
      const projected = g.linearWeight(g.toCompute(pooled), g.weights.get('text_projection.weight', [cfg.projectionDim, hidden]));
      g.output(g.cast(projected, g.computeType, DataType.FLOAT), 'text_embeds', DataType.FLOAT, ['batch', cfg.projectionDim]);
    }
  }
  return g;
}
