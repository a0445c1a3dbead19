// The Qwen2.5-VL language model, text only, as an ONNX graph: the last hidden state (after the final RMSNorm).
//
// Inputs: input_ids [B, L] int64, attention_bias [B, 1, L, L] (causal + padding, 0 or a large negative),
// rope_cos / rope_sin [B, L, headDim] in the rotate-half layout. Output: last_hidden_state [B, L, hidden].

import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import { dirname } from 'node:path';
import type { LoraWeights } from '../lora/lora-weights.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';
import { commonRoot, type WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, ModelGraph } from './graph-ops.js';
import type { TextEncoderConfig } from './text-encoder-config.js';

/** Checkpoints name the language model model.* (as saved) or model.language_model.* (as held in memory). */
export function textEncoderPrefix(weights: WeightSet): string {
  return weights.has('model.language_model.embed_tokens.weight') ? 'model.language_model' : 'model';
}

function rotateHalf(g: ModelGraph, x: string, headDim: number): string {
  const [a, b] = g.opN('Split', [x, g.ints([headDim / 2, headDim / 2])], 2, { axis: attr.int(-1) });
  return g.op('Concat', [g.op('Neg', [b!]), a!], { axis: attr.int(-1) });
}

/** The folder a text-encoder session reads weights under: holds the checkpoint and every LoRA file. */
export function textEncoderRoot(weights: WeightSet, loras: readonly LoraWeights[], quantized?: QuantizedLinears): string {
  return commonRoot([weights.root, ...loras.map((l) => dirname(l.file)), ...(quantized ? [quantized.dir] : [])]);
}

/** LoRA k (patching the language model's linears) gets the strength input lora_scale_k [1]. */
export function buildTextEncoderGraph(weights: WeightSet, cfg: TextEncoderConfig, loras: readonly LoraWeights[] = [], quantized?: QuantizedLinears): Uint8Array {
  const g = new ModelGraph('qwen2_5_vl_text', weights, textEncoderRoot(weights, loras, quantized), quantized);
  loras.forEach((l, k) => g.addLora(l, `lora_scale_${k}`));
  const p = textEncoderPrefix(weights);
  const { hidden, headDim, heads, kvHeads } = cfg;
  const ids = g.input('input_ids', DataType.INT64, ['batch', 'tokens']);
  const bias = g.input('attention_bias', DataType.FLOAT, ['batch', 1, 'tokens', 'tokens']);
  const cos = g.op('Unsqueeze', [g.input('rope_cos', DataType.FLOAT, ['batch', 'tokens', headDim]), g.ints([1])]);
  const sin = g.op('Unsqueeze', [g.input('rope_sin', DataType.FLOAT, ['batch', 'tokens', headDim]), g.ints([1])]);
  const rope = (x: string) => g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotateHalf(g, x, headDim), sin])]);
  const toHeads = (x: string, n: number) => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, n, headDim])])], { perm: attr.ints([0, 2, 1, 3]) });
  // Grouped-query attention: query head j reads key/value head floor(j / groups).
  const groups = heads / kvHeads;
  const repeatKv = (x: string) => {
    if (groups === 1) return x;
    const expanded = g.op('Expand', [g.op('Unsqueeze', [x, g.ints([2])]), g.ints([1, 1, groups, 1, 1])]);
    return g.op('Reshape', [expanded, g.ints([0, heads, -1, headDim])]);
  };

  let x = g.embedding(`${p}.embed_tokens.weight`, ids, [cfg.vocabSize, hidden]);
  for (let i = 0; i < cfg.layers; i++) {
    const l = `${p}.layers.${i}`;
    const normed = g.rmsNorm(x, `${l}.input_layernorm.weight`, hidden, cfg.rmsEps);
    const q = rope(toHeads(g.dense(normed, `${l}.self_attn.q_proj`, hidden, heads * headDim), heads));
    const k = repeatKv(rope(toHeads(g.dense(normed, `${l}.self_attn.k_proj`, hidden, kvHeads * headDim), kvHeads)));
    const v = repeatKv(toHeads(g.dense(normed, `${l}.self_attn.v_proj`, hidden, kvHeads * headDim), kvHeads));
    const attn = g.op('Transpose', [g.attention(q, k, v, headDim, bias)], { perm: attr.ints([0, 2, 1, 3]) });
    x = g.op('Add', [x, g.dense(g.op('Reshape', [attn, g.ints([0, 0, heads * headDim])]), `${l}.self_attn.o_proj`, heads * headDim, hidden, false)]);
    const m = g.rmsNorm(x, `${l}.post_attention_layernorm.weight`, hidden, cfg.rmsEps);
    const gate = g.silu(g.dense(m, `${l}.mlp.gate_proj`, hidden, cfg.intermediate, false));
    const up = g.dense(m, `${l}.mlp.up_proj`, hidden, cfg.intermediate, false);
    x = g.op('Add', [x, g.dense(g.op('Mul', [gate, up]), `${l}.mlp.down_proj`, cfg.intermediate, hidden, false)]);
  }
  g.output(g.rmsNorm(x, `${p}.norm.weight`, hidden, cfg.rmsEps), 'last_hidden_state', DataType.FLOAT, ['batch', 'tokens', hidden]);
  return g.encode(ENGINE_OPSETS);
}
