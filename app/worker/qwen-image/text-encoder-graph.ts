// The Qwen2.5-VL language model, text only, as an ONNX graph: the last hidden state (after the final RMSNorm).
//
// Inputs: input_ids [B, L] int64, position_ids [B, L] int64 (rows of the RoPE tables), rope_cos / rope_sin
// [positions, headDim / 2] (rotate-half layout). A prompt on its own is causal attention and nothing else
// (no mask input, no [L, L] tensor); the `masked` variant takes attention_bias [B, 1, L, L] (causal and
// padding, 0 or a large negative) for right-padded batches. Output: last_hidden_state [B, L, hidden].
//
// Half precision: the residual stream and the RMSNorms stay float32 (Qwen2's hidden states carry a few
// very large values), the attention output and MLP down projections are scaled (see graph-ops).

import { DataType } from '../onnx/onnx-model.js';
import { dirname } from 'node:path';
import type { LoraWeights } from '../lora/lora-weights.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';
import { commonRoot, type WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, ModelGraph, type GraphPrecision } from './graph-ops.js';
import type { TextEncoderConfig } from './text-encoder-config.js';

/** fp16 care for the text encoder's overflowing linears (inputs scaled by this, outputs back in float32). */
export const TEXT_OUT_SCALE = 1 / 32;

/** Checkpoints name the language model model.* (as saved) or model.language_model.* (as held in memory). */
export function textEncoderPrefix(weights: WeightSet): string {
  return weights.has('model.language_model.embed_tokens.weight') ? 'model.language_model' : 'model';
}

/** The folder a text-encoder session reads weights under: holds the checkpoint and every LoRA file. */
export function textEncoderRoot(weights: WeightSet, loras: readonly LoraWeights[], quantized?: QuantizedLinears): string {
  return commonRoot([weights.root, ...loras.map((l) => dirname(l.file)), ...(quantized ? [quantized.dir] : [])]);
}

export interface TextEncoderGraphOptions extends GraphPrecision {
  readonly loras?: readonly LoraWeights[];
  readonly quantized?: QuantizedLinears;
  /** Takes an additive attention bias for right-padded batches instead of plain causal attention. */
  readonly masked?: boolean;
}

/** LoRA k (patching the language model's linears) gets the strength input lora_scale_k [1]. */
export function buildTextEncoderGraph(weights: WeightSet, cfg: TextEncoderConfig, options: TextEncoderGraphOptions = {}): Uint8Array {
  return textEncoderGraph(weights, cfg, options).encode(ENGINE_OPSETS);
}

export function textEncoderGraph(weights: WeightSet, cfg: TextEncoderConfig, options: TextEncoderGraphOptions = {}): ModelGraph {
  const loras = options.loras ?? [];
  const g = new ModelGraph('qwen2_5_vl_text', weights, textEncoderRoot(weights, loras, options.quantized), options.quantized, options);
  loras.forEach((l, k) => g.addLora(l, `lora_scale_${k}`));
  const p = textEncoderPrefix(weights);
  const { hidden, headDim, heads, kvHeads } = cfg;
  const ids = g.input('input_ids', DataType.INT64, ['batch', 'tokens']);
  const positions = g.input('position_ids', DataType.INT64, ['batch', 'tokens']);
  const table = (name: string) => g.toCompute(g.input(name, DataType.FLOAT, ['positions', headDim / 2]), DataType.FLOAT);
  const cos = table('rope_cos');
  const sin = table('rope_sin');
  const bias = options.masked ? g.toCompute(g.input('attention_bias', DataType.FLOAT, ['batch', 1, 'tokens', 'tokens']), DataType.FLOAT) : undefined;
  // Grouped-query attention: query head j reads key/value head floor(j / groups); repeated in [B, L, kv, groups, D].
  const groups = heads / kvHeads;
  const repeatKv = (x: string) =>
    groups === 1
      ? x
      : g.op('Reshape', [g.op('Expand', [g.op('Reshape', [x, g.ints([0, 0, kvHeads, 1, headDim])]), g.ints([1, 1, 1, groups, 1])]), g.ints([0, 0, heads * headDim])]);

  let x = g.embedding(`${p}.embed_tokens.weight`, ids, [cfg.vocabSize, hidden]);
  for (let i = 0; i < cfg.layers; i++) {
    const l = `${p}.layers.${i}`;
    const normed = g.toCompute(g.rmsNorm(x, `${l}.input_layernorm.weight`, hidden, cfg.rmsEps));
    const q = g.rotary(g.dense(normed, `${l}.self_attn.q_proj`, hidden, heads * headDim), positions, cos, sin, heads, false);
    const k = repeatKv(g.rotary(g.dense(normed, `${l}.self_attn.k_proj`, hidden, kvHeads * headDim), positions, cos, sin, kvHeads, false));
    const v = repeatKv(g.dense(normed, `${l}.self_attn.v_proj`, hidden, kvHeads * headDim));
    const attn = g.fusedAttention(q, k, v, heads, headDim, bias ? { bias } : { causal: true });
    x = g.op('Add', [x, g.dense(attn, `${l}.self_attn.o_proj`, heads * headDim, hidden, { bias: false, toStream: true, inputScale: TEXT_OUT_SCALE })]);
    const m = g.toCompute(g.rmsNorm(x, `${l}.post_attention_layernorm.weight`, hidden, cfg.rmsEps));
    const gate = g.silu(g.dense(m, `${l}.mlp.gate_proj`, hidden, cfg.intermediate, { bias: false }));
    // The product gate * up is what overflows: one factor is scaled before the multiplication.
    const down = { bias: false, toStream: true, inputScale: TEXT_OUT_SCALE, prescaled: true } as const;
    const up = g.prescale(g.dense(m, `${l}.mlp.up_proj`, hidden, cfg.intermediate, { bias: false }), down);
    x = g.op('Add', [x, g.dense(g.op('Mul', [gate, up]), `${l}.mlp.down_proj`, cfg.intermediate, hidden, down)]);
  }
  g.output(g.toOutput(g.rmsNorm(x, `${p}.norm.weight`, hidden, cfg.rmsEps)), 'last_hidden_state', DataType.FLOAT, ['batch', 'tokens', hidden]);
  return g;
}
