// Building blocks shared by the Qwen-Image graphs: weights as external data, linear layers, norms, attention,
// in the precision a plan computes in.
//
// Half precision (fp16, bf16) follows one layout everywhere: the residual streams, norms and their
// reductions, modulation and gates stay float32 ("stream" values); what a linear layer, the attention or
// an activation consumes is cast to the compute type, and what a linear hands back to a stream is cast
// back. Linears whose outputs overflow float16 (activations reach ~2e7 in Qwen-Image's later blocks) take
// their input scaled down before the matmul and are scaled back up in float32 (`dense` with `inputScale`).

import { DataType } from '../onnx/onnx-model.js';
import { GraphBuilder, attr } from '../onnx/graph-builder.js';
import { locationUnder, type WeightRef, type WeightSet } from '../safetensors/weight-set.js';
import type { LoraModule, LoraWeights } from '../lora/lora-weights.js';
import type { QuantizedLinear, QuantizedLinears } from '../quant/quantized-weights.js';
import { slotInputNames, slotScaleName, type StyleSlotLayout } from '../lora/style-slots.js';
import type { Precision } from '../../shared/precision.js';

/** Opset 21: ReduceMean with axes as an input, Cast/Reshape/Shape kernels with bfloat16 on CUDA. */
export const ENGINE_OPSETS = { '': 21, 'com.microsoft': 1 } as const;

const ONNX_DTYPE = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: DataType.BFLOAT16 } as const;
const COMPUTE_TYPE: Record<Precision, DataType> = { f32: DataType.FLOAT, fp16: DataType.FLOAT16, bf16: DataType.BFLOAT16 };

/**
 * How much care half precision gets. `full` is the engine's layout (float32 streams, scaled linears);
 * `none` computes everything, streams included, in the half type: the plain graph a naive conversion gives,
 * built only to show what the care prevents (see the overflow test and `npm run bench:engine`).
 */
export type HalfCare = 'full' | 'none';

export interface GraphPrecision {
  readonly precision?: Precision;
  readonly halfCare?: HalfCare;
  /** The provider the graph is built for, where a kernel's form differs (DirectML's MatMulNBits). */
  readonly target?: 'cpu' | 'cuda' | 'dml';
}

export interface DenseOptions {
  readonly bias?: boolean;
  /** Adds the result to a stream: cast to the stream type, bias added there. */
  readonly toStream?: boolean;
  /** Half precision: x is multiplied by this before the matmul and the result divided after (see the file comment). */
  readonly inputScale?: number;
  /** x already carries `inputScale` (applied with `prescale` to a factor of x): only the division is left. */
  readonly prescaled?: boolean;
}

export class ModelGraph extends GraphBuilder {
  private readonly loaded = new Map<string, string>();
  private readonly consts = new Map<string, string>();
  /** The type matmuls, attention and activations run in. */
  readonly computeType: DataType;
  /** The type of residual streams and norms: float32, unless half precision gets no care. */
  readonly streamType: DataType;
  readonly precision: Precision;
  readonly halfCare: HalfCare;
  readonly target: 'cpu' | 'cuda' | 'dml';

  /** Low-rank adapters by the module they patch, each scaled by its own graph input. */
  private readonly adapters = new Map<string, { module: LoraModule; scale: string }[]>();

  constructor(
    name: string,
    readonly weights: WeightSet,
    /** The folder external data is resolved against; must contain every weight file used. */
    readonly root: string = weights.root,
    /** Linears whose weights come from a quantized cache instead (MatMulNBits). */
    readonly quantized?: QuantizedLinears,
    precision: GraphPrecision = {},
  ) {
    super(name);
    this.precision = precision.precision ?? 'f32';
    this.halfCare = precision.halfCare ?? 'full';
    this.target = precision.target ?? 'cpu';
    this.computeType = COMPUTE_TYPE[this.precision];
    this.streamType = this.halfCare === 'none' ? this.computeType : DataType.FLOAT;
  }

  /** True when linears and attention run in a 16-bit type. */
  get half(): boolean {
    return this.computeType !== DataType.FLOAT;
  }

  private styleSlots: StyleSlotLayout | undefined;
  private readonly slotScales: string[] = [];

  /** The type style-slot matrices are fed in: float16 for half-precision graphs (half the bytes per step). */
  get slotType(): DataType {
    return this.half ? DataType.FLOAT16 : DataType.FLOAT;
  }

  /** Declares style slots: each target module gets, per slot, A/B inputs and the slot's strength input. */
  addStyleSlots(layout: StyleSlotLayout): void {
    this.styleSlots = layout;
    for (let k = 0; k < layout.count; k++) this.slotScales.push(this.toCompute(this.input(slotScaleName(k), DataType.FLOAT, [1]), DataType.FLOAT));
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

  /** A value converted between float types; no node when it already has the type. */
  cast(x: string, from: DataType, to: DataType): string {
    return from === to ? x : this.op('Cast', [x], { to: attr.int(to) });
  }

  /** A stream value (float32) as the compute type. */
  toCompute(x: string, from: DataType = this.streamType): string {
    return this.cast(x, from, this.computeType);
  }

  /** A compute-type value back into a stream. */
  toStream(x: string): string {
    return this.cast(x, this.computeType, this.streamType);
  }

  /** A float32 graph input as a stream value. */
  fromInput(x: string): string {
    return this.cast(x, DataType.FLOAT, this.streamType);
  }

  /** A stream value as a float32 graph output. */
  toOutput(x: string): string {
    return this.cast(x, this.streamType, DataType.FLOAT);
  }

  private external_(ref: WeightRef): { value: string; type: DataType } {
    const type = ONNX_DTYPE[ref.dtype as keyof typeof ONNX_DTYPE];
    if (type === undefined) throw new Error(`${this.weights.label}: tensor ${ref.name} is ${ref.dtype}, not a float type`);
    return { value: this.external(ref.name, type, ref.shape, { location: locationUnder(this.root, ref.file), offset: ref.offset, length: ref.byteLength }), type };
  }

  /**
   * A tensor from a weight file in the given type. Stored in that type it is used as stored (memory-mapped,
   * no copy); otherwise a Cast of the initializer, which ONNX Runtime folds once when the session is
   * created (a copy in the new type, made on the CPU before any provider sees the graph).
   */
  protected weightAs(ref: WeightRef, to: DataType): string {
    const key = `${ref.file}:${ref.offset}:${to}`;
    const cached = this.loaded.get(key);
    if (cached) return cached;
    const { value, type } = this.external_(ref);
    const out = this.cast(value, type, to);
    this.loaded.set(key, out);
    return out;
  }

  /** A checkpoint weight in the compute type (what matmuls and compute-side norms consume). */
  w(name: string, shape?: readonly number[]): string {
    return this.weightAs(this.weights.get(name, shape), this.computeType);
  }

  /**
   * x @ W^T for a weight stored [out, in]. Used as stored (FusedMatMul with transB, no copy) when it is
   * stored in the compute type or computed in float32. A half-precision graph that converts the weight
   * anyway (bf16 to fp16 for DirectML, f32 to fp16) folds the transpose into that one conversion and uses
   * MatMul, whose float16 kernel every provider has natively (the CPU's FusedMatMul would compute in
   * float32 and hide float16's range and rounding).
   */
  linearWeight(x: string, ref: WeightRef): string {
    const stored = ONNX_DTYPE[ref.dtype as keyof typeof ONNX_DTYPE];
    if (!this.half || stored === this.computeType) return this.matmulT(x, this.weightAs(ref, this.computeType));
    const key = `${ref.file}:${ref.offset}:T${this.computeType}`;
    let wt = this.loaded.get(key);
    if (!wt) {
      wt = this.op('Transpose', [this.weightAs(ref, this.computeType)], { perm: attr.ints([1, 0]) });
      this.loaded.set(key, wt);
    }
    return this.op('MatMul', [x, wt]);
  }

  /** A checkpoint weight in the stream type (biases added to streams, norm weights of stream norms). */
  ws(name: string, shape?: readonly number[]): string {
    return this.weightAs(this.weights.get(name, shape), this.streamType);
  }

  /**
   * Rows of an embedding table, in the stream type: gathered first and cast after, so the table is not
   * copied whole. A half-precision graph whose table is stored in the other 16-bit type (bf16 for a float16
   * graph: DirectML has no bfloat16 at all) gathers from a converted copy instead.
   */
  embedding(name: string, ids: string, shape: readonly number[]): string {
    const ref = this.weights.get(name, shape);
    const { value, type } = this.external_(ref);
    const convert = this.half && type !== this.computeType && type !== DataType.FLOAT;
    const table = convert ? this.weightAs(ref, this.computeType) : value;
    return this.cast(this.op('Gather', [table, ids], { axis: attr.int(0) }), convert ? this.computeType : type, this.streamType);
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

  /** A scalar [1] of the given type (float32 by default); other types are a folded Cast of a float32 constant. */
  scalar(value: number, type: DataType = DataType.FLOAT): string {
    const key = `f${type}:${value}`;
    let v = this.consts.get(key);
    if (!v) {
      v = this.cast(this.constFloat('s', [value], [1]), DataType.FLOAT, type);
      this.consts.set(key, v);
    }
    return v;
  }

  /**
   * PyTorch nn.Linear: y = x W^T + b with W stored [out, in], used as stored (no transposed copy). `x` is in
   * the compute type. The result is in the compute type, or with `toStream` added to a stream's type (the
   * bias added there). `inputScale` (half precision with care only) multiplies x before the matmul and
   * divides the float32 result after: for linears whose outputs exceed float16's range.
   */
  dense(x: string, prefix: string, inFeatures: number, outFeatures: number, denseOptions: DenseOptions | boolean = {}): string {
    // A boolean is the older form: whether the layer has a bias.
    const options: DenseOptions = typeof denseOptions === 'boolean' ? { bias: denseOptions } : denseOptions;
    const bias = options.bias ?? true;
    const scale = this.scaleFor(options);
    const xs = scale && !options.prescaled ? this.op('Mul', [x, this.scalar(scale, this.computeType)]) : x;
    const q = this.quantized?.linears.get(`${prefix}.weight`);
    if (q && (q.n !== outFeatures || q.k !== inFeatures)) throw new Error(`${prefix}: the quantized weight is ${q.n}x${q.k}, the layer ${outFeatures}x${inFeatures}`);
    let y = q ? this.matmulNBits(xs, q) : this.linearWeight(xs, this.weights.get(`${prefix}.weight`, [outFeatures, inFeatures]));
    y = this.addAdapters(y, xs, prefix, inFeatures, outFeatures);
    if (!options.toStream) return bias ? this.op('Add', [y, this.w(`${prefix}.bias`, [outFeatures])]) : y;
    let out = this.toStream(y);
    if (scale) out = this.op('Mul', [out, this.scalar(1 / scale, this.streamType)]);
    return bias ? this.op('Add', [out, this.ws(`${prefix}.bias`, [outFeatures])]) : out;
  }

  /** The input scale `dense` applies for these options: only for half precision with care, into a stream. */
  scaleFor(options: DenseOptions): number | undefined {
    return this.half && this.halfCare === 'full' && options.toStream ? options.inputScale : undefined;
  }

  /** x scaled as `dense` would scale it for these options (to scale a factor of x before a product overflows). */
  prescale(x: string, options: DenseOptions): string {
    const scale = this.scaleFor(options);
    return scale ? this.op('Mul', [x, this.scalar(scale, this.computeType)]) : x;
  }

  /** y + strength * (alpha / rank) * up(down(x)) for each LoRA and style slot on this module; the base weights are never touched. */
  private addAdapters(y: string, x: string, prefix: string, inFeatures: number, outFeatures: number): string {
    const adapters = this.adapters.get(prefix) ?? [];
    const slots = this.styleSlots?.targets.has(prefix) ? this.styleSlots : undefined;
    let sum = y;
    if (slots) {
      for (let k = 0; k < slots.count; k++) {
        const names = slotInputNames(k, prefix);
        const a = this.toCompute(this.input(names.a, this.slotType, [slots.rank, inFeatures]), this.slotType);
        const b = this.toCompute(this.input(names.b, this.slotType, [outFeatures, slots.rank]), this.slotType);
        sum = this.op('Add', [sum, this.op('Mul', [this.matmulT(this.matmulT(x, a), b), this.slotScales[k]!])]);
      }
    }
    for (const { module, scale } of adapters) {
      const low = this.linearWeight(this.linearWeight(x, module.down), module.up);
      const factor = this.toCompute(this.op('Mul', [scale, this.scalar(module.alpha / module.rank)]), DataType.FLOAT);
      sum = this.op('Add', [sum, this.op('Mul', [low, factor])]);
    }
    return sum;
  }

  /** x @ W^T for W stored [out, in]. */
  private matmulT(x: string, w: string): string {
    return this.op('FusedMatMul', [x, w], { transB: attr.int(1) }, { domain: 'com.microsoft' });
  }

  /**
   * x @ W^T with W as blockwise n-bit codes and float scales (cast to the compute type once, at load).
   * accuracy_level 4 lets the CPU kernel use int8 dot products (without it 8-bit weights run several
   * times slower); on CUDA it is ignored.
   */
  private matmulNBits(x: string, q: QuantizedLinear): string {
    const location = (r: WeightRef) => ({ location: locationUnder(this.root, r.file), offset: r.offset, length: r.byteLength });
    const packed = this.external(q.packed.name, DataType.UINT8, q.packed.shape, location(q.packed));
    const scales = this.cast(this.external(q.scales.name, DataType.FLOAT, q.scales.shape, location(q.scales)), DataType.FLOAT, this.computeType);
    const inputs = [x, packed, scales];
    if (this.target === 'dml') {
      // DirectML's kernel needs the zero points given: the codes are symmetric, so every block's zero point
      // is the middle code (8 for 4-bit, 128 for 8-bit), packed as the kernel reads them; folded at load.
      const blocks = Math.ceil(q.k / q.blockSize);
      const bytesPerRow = Math.ceil((blocks * q.bits) / 8);
      const middle = q.bits === 4 ? 0x88 : 0x80;
      const one = this.constUint8('zero_point', [middle]);
      inputs.push(this.op('Expand', [one, this.ints([q.n, bytesPerRow])]));
    }
    return this.op(
      'MatMulNBits',
      inputs,
      { K: attr.int(q.k), N: attr.int(q.n), bits: attr.int(q.bits), block_size: attr.int(q.blockSize), accuracy_level: attr.int(4) },
      { domain: 'com.microsoft' },
    );
  }

  /**
   * RMSNorm over the last axis: x / sqrt(mean(x^2) + eps), times the weight when there is one. One
   * SimplifiedLayerNormalization node, which accumulates in float32 whatever its input type; `type` is
   * the type x is in (the stream type, or the compute type for per-head norms).
   */
  rmsNorm(x: string, weightName: string | undefined, dim: number, eps: number, type: DataType = this.streamType): string {
    const weight = weightName ? this.weightAs(this.weights.get(weightName, [dim]), type) : this.cast(this.constFloat('ones', new Float32Array(dim).fill(1), [dim]), DataType.FLOAT, type);
    return this.op('SimplifiedLayerNormalization', [x, weight], { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) });
  }

  /** LayerNorm over the last axis without affine parameters, on a stream value. */
  layerNorm(x: string, dim: number, eps: number): string {
    const ones = this.cast(this.constFloat('ones', new Float32Array(dim).fill(1), [dim]), DataType.FLOAT, this.streamType);
    return this.op('LayerNormalization', [x, ones], { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) });
  }

  silu(x: string): string {
    return this.op('Mul', [x, this.op('Sigmoid', [x])]);
  }

  /**
   * GELU with the tanh approximation: com.microsoft FastGelu, which CPU, CUDA (bf16 too) and DirectML
   * register; DirectML has no ONNX Gelu (opset 20).
   */
  geluTanh(x: string): string {
    return this.op('FastGelu', [x], {}, { domain: 'com.microsoft' });
  }

  /**
   * Unfused scaled dot-product attention on [B, H, S, D] tensors, with an optional additive bias: holds the
   * [B, H, S, T] score matrix. The Qwen-Image graphs use fusedAttention.
   */
  attention(q: string, k: string, v: string, headDim: number, bias?: string): string {
    const kT = this.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) });
    let scores = this.op('Mul', [this.op('MatMul', [q, kT]), this.scalar(1 / Math.sqrt(headDim), this.computeType)]);
    if (bias) scores = this.op('Add', [scores, bias]);
    return this.op('MatMul', [this.op('Softmax', [scores], { axis: attr.int(-1) }), v]);
  }

  /**
   * Fused attention (com.microsoft MultiHeadAttention) on [B, S, heads * headDim] query, key and value in
   * the compute type. Without a bias it never holds the [B, heads, S, T] score matrix, and CUDA may pick
   * its flash or memory-efficient kernels; `bias` [B, 1, S, T] (additive) is for padded batches only.
   */
  fusedAttention(q: string, k: string, v: string, heads: number, headDim: number, options: { bias?: string; causal?: boolean } = {}): string {
    // bfloat16 graphs attend in float16: CUDA's MultiHeadAttention has float16 kernels (flash and memory-
    // efficient) in every build, bfloat16 ones only in recent ones (provider-kernels.ts). Q and K come out
    // of RMS norms and V out of a modulated LayerNorm's projection: far inside float16's range.
    const attendType = this.computeType === DataType.BFLOAT16 ? DataType.FLOAT16 : this.computeType;
    const into = (x: string) => this.cast(x, this.computeType, attendType);
    const inputs = [into(q), into(k), into(v)];
    let bias = options.bias ? into(options.bias) : undefined;
    let causal = options.causal ?? false;
    if (this.target === 'dml' && (causal || bias)) {
      // DirectML's kernel never reads `unidirectional` and takes a bias only as the full [B, heads, S, T]
      // (provider-kernels.ts): causality goes into the bias, and the bias is expanded to that shape.
      bias = this.fullAttentionBias(inputs[0]!, inputs[1]!, heads, attendType, bias, causal);
      causal = false;
    }
    if (bias) inputs.push('', '', bias);
    const out = this.op(
      'MultiHeadAttention',
      inputs,
      { num_heads: attr.int(heads), scale: attr.float(1 / Math.sqrt(headDim)), ...(causal ? { unidirectional: attr.int(1) } : {}) },
      { domain: 'com.microsoft' },
    );
    return this.cast(out, attendType, this.computeType);
  }

  /**
   * An additive attention bias of the full [B, heads, S, T] for query q [B, S, *] and key k [B, T, *]:
   * `bias` ([B or 1, 1 or heads, S, T]) expanded, plus -10000 above the diagonal when `causal` (key j > query
   * i: the same mask a causal kernel applies; softmax gives those keys exactly 0). Built from the runtime
   * shapes with kernels every provider has (no comparison ops: the mask is min(max(j - i, 0), 1)).
   */
  private fullAttentionBias(q: string, k: string, heads: number, type: DataType, bias: string | undefined, causal: boolean): string {
    const dim = (x: string, i: number) => this.op('Shape', [x], { start: attr.int(i), end: attr.int(i + 1) });
    const [batch, s, t] = [dim(q, 0), dim(q, 1), dim(k, 1)];
    const full = this.op('Concat', [batch, this.ints([heads]), s, t], { axis: attr.int(0) });
    let out = bias;
    if (causal) {
      const positions = (n: string) => this.op('Range', [this.scalarInt(0), this.op('Squeeze', [n, this.ints([0])]), this.scalarInt(1)]);
      const rows = this.op('Unsqueeze', [positions(s), this.ints([1])]);
      const cols = this.op('Unsqueeze', [positions(t), this.ints([0])]);
      const ahead = this.op('Cast', [this.op('Sub', [cols, rows])], { to: attr.int(DataType.FLOAT) });
      const clamped = this.op('Neg', [this.op('Max', [this.op('Neg', [this.op('Max', [ahead, this.scalar(0)])]), this.scalar(-1)])]);
      const mask = this.cast(this.op('Mul', [clamped, this.scalar(-10000)]), DataType.FLOAT, type);
      out = out ? this.op('Add', [out, mask]) : mask;
    }
    return this.op('Expand', [out!, full]);
  }

  /** An int64 scalar (rank 0), as Range takes its bounds. */
  private scalarInt(value: number): string {
    return this.op('Squeeze', [this.ints([value]), this.ints([0])]);
  }

  /**
   * Rotary embedding (com.microsoft RotaryEmbedding) on [B, S, heads * headDim] in the compute type.
   * `interleaved` rotates adjacent pairs (2i, 2i+1) as complex numbers; otherwise halves (i, i + D/2).
   * `positions` is int64 [1] (an offset into the tables) or [B, S]; the tables are [rows, D/2].
   */
  rotary(x: string, positions: string, cos: string, sin: string, heads: number, interleaved: boolean): string {
    return this.op('RotaryEmbedding', [x, positions, cos, sin], { interleaved: attr.int(interleaved ? 1 : 0), num_heads: attr.int(heads) }, { domain: 'com.microsoft' });
  }
}
