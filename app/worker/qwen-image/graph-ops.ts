// Building blocks shared by the Qwen-Image graphs: weights as external data, linear layers, norms, attention.

import { DataType } from '../onnx/onnx-model.js';
import { GraphBuilder, attr } from '../onnx/graph-builder.js';
import { locationUnder, type WeightRef, type WeightSet } from '../safetensors/weight-set.js';
import type { LoraModule, LoraWeights } from '../lora/lora-weights.js';
import type { QuantizedLinear, QuantizedLinears } from '../quant/quantized-weights.js';
import { slotInputNames, slotScaleName, type StyleSlotLayout } from '../lora/style-slots.js';

/** Opset 21: Gelu with the tanh approximation and ReduceMean taking axes as an input. */
export const ENGINE_OPSETS = { '': 21, 'com.microsoft': 1 } as const;

const ONNX_DTYPE = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: DataType.BFLOAT16 } as const;

export class ModelGraph extends GraphBuilder {
  private readonly loaded = new Map<string, string>();
  private readonly consts = new Map<string, string>();

  /** Low-rank adapters by the module they patch, each scaled by its own graph input. */
  private readonly adapters = new Map<string, { module: LoraModule; scale: string }[]>();

  constructor(
    name: string,
    readonly weights: WeightSet,
    /** The folder external data is resolved against; must contain every weight file used. */
    readonly root: string = weights.root,
    /** Linears whose weights come from a quantized cache instead (MatMulNBits). */
    readonly quantized?: QuantizedLinears,
  ) {
    super(name);
  }

  private styleSlots: StyleSlotLayout | undefined;
  private readonly slotScales: string[] = [];

  /** Declares style slots: each target module gets, per slot, A/B inputs and the slot's strength input. */
  addStyleSlots(layout: StyleSlotLayout): void {
    this.styleSlots = layout;
    for (let k = 0; k < layout.count; k++) this.slotScales.push(this.input(slotScaleName(k), DataType.FLOAT, [1]));
  }

  /** Adds a LoRA whose strength is the float input `scaleInput` [1]: changing it needs no new session. */
  addLora(lora: LoraWeights, scaleInput: string): void {
    const scale = this.input(scaleInput, DataType.FLOAT, [1]);
    for (const module of lora.modules.values()) {
      const list = this.adapters.get(module.target) ?? [];
      list.push({ module, scale });
      this.adapters.set(module.target, list);
    }
  }

  private ref(ref: WeightRef): string {
    const dtype = ONNX_DTYPE[ref.dtype as keyof typeof ONNX_DTYPE];
    if (dtype === undefined) throw new Error(`tensor ${ref.name} is ${ref.dtype}, not a float type`);
    const value = this.external(ref.name, dtype, ref.shape, { location: locationUnder(this.root, ref.file), offset: ref.offset, length: ref.byteLength });
    return dtype === DataType.FLOAT ? value : this.op('Cast', [value], { to: attr.int(DataType.FLOAT) });
  }

  /**
   * A weight from the checkpoint, kept in its file. Half-precision weights are cast to float32 at the
   * graph edge: the CPU provider computes in float32.
   */
  w(name: string, shape?: readonly number[]): string {
    const cached = this.loaded.get(name);
    if (cached) return cached;
    const value = this.ref(this.weights.get(name, shape));
    this.loaded.set(name, value);
    return value;
  }

  /** Rows of an embedding table: gathered first and cast after, so a half-precision table is never copied whole. */
  embedding(name: string, ids: string, shape: readonly number[]): string {
    const ref = this.weights.get(name, shape);
    const dtype = ONNX_DTYPE[ref.dtype as keyof typeof ONNX_DTYPE];
    if (dtype === undefined) throw new Error(`${this.weights.label}: tensor ${name} is ${ref.dtype}, not a float type`);
    const table = this.external(name, dtype, ref.shape, { location: locationUnder(this.root, ref.file), offset: ref.offset, length: ref.byteLength });
    const rows = this.op('Gather', [table, ids], { axis: attr.int(0) });
    return dtype === DataType.FLOAT ? rows : this.op('Cast', [rows], { to: attr.int(DataType.FLOAT) });
  }

  /** A reusable int64 constant, e.g. axes or shapes. */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let v = this.consts.get(`i${key}`);
    if (!v) {
      v = this.constInt64('c', values);
      this.consts.set(`i${key}`, v);
    }
    return v;
  }

  scalar(value: number): string {
    let v = this.consts.get(`f${value}`);
    if (!v) {
      v = this.constFloat('s', [value], [1]);
      this.consts.set(`f${value}`, v);
    }
    return v;
  }

  /** PyTorch nn.Linear: y = x W^T + b with W stored [out, in], used as stored (no transposed copy). */
  dense(x: string, prefix: string, inFeatures: number, outFeatures: number, bias = true): string {
    const q = this.quantized?.linears.get(`${prefix}.weight`);
    if (q && (q.n !== outFeatures || q.k !== inFeatures)) throw new Error(`${prefix}: the quantized weight is ${q.n}x${q.k}, the layer ${outFeatures}x${inFeatures}`);
    const y = q ? this.matmulNBits(x, q) : this.matmulT(x, this.w(`${prefix}.weight`, [outFeatures, inFeatures]));
    const base = bias ? this.op('Add', [y, this.w(`${prefix}.bias`, [outFeatures])]) : y;
    const adapters = this.adapters.get(prefix) ?? [];
    const slots = this.styleSlots?.targets.has(prefix) ? this.styleSlots : undefined;
    if (adapters.length === 0 && !slots) return base;
    // y + strength * (alpha / rank) * up(down(x)): the base weights are never touched.
    let sum = base;
    if (slots) {
      for (let k = 0; k < slots.count; k++) {
        const names = slotInputNames(k, prefix);
        const a = this.input(names.a, DataType.FLOAT, [slots.rank, inFeatures]);
        const b = this.input(names.b, DataType.FLOAT, [outFeatures, slots.rank]);
        sum = this.op('Add', [sum, this.op('Mul', [this.matmulT(this.matmulT(x, a), b), this.slotScales[k]!])]);
      }
    }
    for (const { module, scale } of adapters) {
      const low = this.matmulT(this.matmulT(x, this.ref(module.down)), this.ref(module.up));
      const factor = this.op('Mul', [scale, this.scalar(module.alpha / module.rank)]);
      sum = this.op('Add', [sum, this.op('Mul', [low, factor])]);
    }
    return sum;
  }

  /** x @ W^T for W stored [out, in]. */
  private matmulT(x: string, w: string): string {
    return this.op('FusedMatMul', [x, w], { transB: attr.int(1) }, { domain: 'com.microsoft' });
  }

  /**
   * x @ W^T with W as blockwise n-bit codes and float scales. accuracy_level 4 lets the CPU kernel use
   * int8 dot products (without it 8-bit weights run several times slower); on CUDA it is ignored.
   */
  private matmulNBits(x: string, q: QuantizedLinear): string {
    const location = (r: WeightRef) => ({ location: locationUnder(this.root, r.file), offset: r.offset, length: r.byteLength });
    const packed = this.external(q.packed.name, DataType.UINT8, q.packed.shape, location(q.packed));
    const scales = this.external(q.scales.name, DataType.FLOAT, q.scales.shape, location(q.scales));
    return this.op(
      'MatMulNBits',
      [x, packed, scales],
      { K: attr.int(q.k), N: attr.int(q.n), bits: attr.int(q.bits), block_size: attr.int(q.blockSize), accuracy_level: attr.int(4) },
      { domain: 'com.microsoft' },
    );
  }

  /** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps), times the weight when there is one. */
  rmsNorm(x: string, weightName: string | undefined, dim: number, eps: number): string {
    const meanSq = this.op('ReduceMean', [this.op('Mul', [x, x]), this.ints([-1])], { keepdims: attr.int(1) });
    const normed = this.op('Mul', [x, this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [meanSq, this.scalar(eps)])])])]);
    return weightName ? this.op('Mul', [normed, this.w(weightName, [dim])]) : normed;
  }

  /** LayerNorm over the last axis without affine parameters. */
  layerNorm(x: string, dim: number, eps: number): string {
    const ones = this.constFloat('ones', new Float32Array(dim).fill(1), [dim]);
    return this.op('LayerNormalization', [x, ones], { axis: attr.int(-1), epsilon: attr.float(eps) });
  }

  silu(x: string): string {
    return this.op('Mul', [x, this.op('Sigmoid', [x])]);
  }

  geluTanh(x: string): string {
    return this.op('Gelu', [x], { approximate: attr.string('tanh') });
  }

  /** Scaled dot-product attention on [B, H, S, D] tensors, with an optional additive bias. */
  attention(q: string, k: string, v: string, headDim: number, bias?: string): string {
    const kT = this.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) });
    let scores = this.op('Mul', [this.op('MatMul', [q, kT]), this.scalar(1 / Math.sqrt(headDim))]);
    if (bias) scores = this.op('Add', [scores, bias]);
    return this.op('MatMul', [this.op('Softmax', [scores], { axis: attr.int(-1) }), v]);
  }
}
