// The CLIP text transformer as an ONNX graph: token and position embeddings, pre-LayerNorm causal
// self-attention layers, the final LayerNorm, EOS pooling and the optional text projection.
//
// Inputs: input_ids [B, L] int64 and attention_bias [1, 1, L, L] (the causal mask: 0 or a large negative;
// no padding mask, as the pipelines call it). Outputs: `hidden` = hidden_states[hiddenIndex] (index 0 is the
// embeddings, i the output of layer i, before the final LayerNorm unless it is the last and `finalNorm`),
// and with `pooled`: `pooled` [B, hidden] and, when the model has one, `text_embeds` [B, projection].

import { dirname } from 'node:path';
import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import { commonRoot, type WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, ModelGraph } from '../qwen-image/graph-ops.js';
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

export function buildClipTextGraph(weights: WeightSet, cfg: ClipTextConfig, o: ClipGraphOptions): Uint8Array {
  const loras = o.loras ?? [];
  const g = new ModelGraph('clip_text', weights, clipTextRoot(weights, loras));
  loras.forEach((l, k) => g.addLora(l, `lora_scale_${k}`));
  const { hidden, heads, headDim } = cfg;
  const p = 'text_model';
  const ids = g.input('input_ids', DataType.INT64, ['batch', 'tokens']);
  const bias = g.input('attention_bias', DataType.FLOAT, [1, 1, 'tokens', 'tokens']);
  const layerNorm = (x: string, prefix: string) =>
    g.op('LayerNormalization', [x, g.w(`${prefix}.weight`, [hidden]), g.w(`${prefix}.bias`, [hidden])], { axis: attr.int(-1), epsilon: attr.float(cfg.layerNormEps) });
  const toHeads = (x: string) => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, heads, headDim])])], { perm: attr.ints([0, 2, 1, 3]) });
  const act = (x: string) =>
    cfg.activation === 'gelu' ? g.op('Gelu', [x]) : g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.scalar(1.702)])])]);

  // Position ids 0..L-1 are the first L rows of the position table.
  const tokens = g.op('Slice', [g.op('Shape', [ids]), g.ints([1]), g.ints([2])]);
  const positionRows = g.op('Range', [g.constInt64('zero', [0], []), g.op('Squeeze', [tokens, g.ints([0])]), g.constInt64('one', [1], [])]);
  const positions = g.embedding(`${p}.embeddings.position_embedding.weight`, positionRows, [cfg.positions, hidden]);
  let x = g.op('Add', [g.embedding(`${p}.embeddings.token_embedding.weight`, ids, [cfg.vocabSize, hidden]), positions]);
  const states = [x];
  const needed = o.pooled || o.allHiddenStates ? cfg.layers : o.hiddenIndex;
  for (let i = 0; i < needed; i++) {
    const l = `${p}.encoder.layers.${i}`;
    const h = layerNorm(x, `${l}.layer_norm1`);
    const q = toHeads(g.dense(h, `${l}.self_attn.q_proj`, hidden, hidden));
    const k = toHeads(g.dense(h, `${l}.self_attn.k_proj`, hidden, hidden));
    const v = toHeads(g.dense(h, `${l}.self_attn.v_proj`, hidden, hidden));
    const attn = g.op('Transpose', [g.attention(q, k, v, headDim, bias)], { perm: attr.ints([0, 2, 1, 3]) });
    x = g.op('Add', [x, g.dense(g.op('Reshape', [attn, g.ints([0, 0, hidden])]), `${l}.self_attn.out_proj`, hidden, hidden)]);
    const m = layerNorm(x, `${l}.layer_norm2`);
    x = g.op('Add', [x, g.dense(act(g.dense(m, `${l}.mlp.fc1`, hidden, cfg.intermediate)), `${l}.mlp.fc2`, cfg.intermediate, hidden)]);
    states.push(x);
  }
  const selected = states[o.hiddenIndex]!;
  g.output(o.finalNorm ? layerNorm(selected, `${p}.final_layer_norm`) : selected, 'hidden', DataType.FLOAT, ['batch', 'tokens', hidden]);
  if (o.allHiddenStates) {
    const stacked = g.op('Concat', states.map((s) => g.op('Unsqueeze', [s, g.ints([0])])), { axis: attr.int(0) });
    g.output(stacked, 'all_hidden_states', DataType.FLOAT, [cfg.layers + 1, 'batch', 'tokens', hidden]);
    g.output(layerNorm(x, `${p}.final_layer_norm`), 'last_hidden_state', DataType.FLOAT, ['batch', 'tokens', hidden]);
  }
  if (o.pooled) {
    const last = layerNorm(x, `${p}.final_layer_norm`);
    // The legacy configs pool at argmax(ids): the first end token, the largest id of the real vocabulary.
    const where = cfg.eosTokenId === 2 ? ids : g.op('Cast', [g.op('Equal', [ids, g.constInt64('eos', [cfg.eosTokenId], [])])], { to: attr.int(DataType.INT32) });
    const at = g.op('ArgMax', [where], { axis: attr.int(1), keepdims: attr.int(1) });
    const pooled = g.op('GatherND', [last, at], { batch_dims: attr.int(1) });
    g.output(pooled, 'pooled', DataType.FLOAT, ['batch', hidden]);
    if (cfg.projectionDim !== undefined) {
      const projected = g.op('FusedMatMul', [pooled, g.w('text_projection.weight', [cfg.projectionDim, hidden])], { transB: attr.int(1) }, { domain: 'com.microsoft' });
      g.output(projected, 'text_embeds', DataType.FLOAT, ['batch', cfg.projectionDim]);
    }
  }
  return g.encode(ENGINE_OPSETS);
}
