// Graph building blocks of the Stable Diffusion UNets and VAEs: convolutions (with LoRA side branches on
// conv layers too), GroupNorm, ResNet blocks, fused attention and nearest upsampling, in the precision a plan
// computes in.
//
// Half precision follows the diffusers float16 pipelines: activations and weights in the compute type (the
// official *.fp16.safetensors weights used as stored), with what float16 cannot do safely in float32:
// GroupNorm's reductions (InstanceNormalization on float32), the sinusoidal timestep embeddings (sin and cos
// of arguments up to 1000), and attention in the fused kernel (softmax accumulated in float32, no score
// matrix). bfloat16 graphs run their convolutions and upsampling in float16: ONNX Runtime's CUDA provider
// registers Conv for bfloat16 only from opset 22 and Resize never (onnx/provider-kernels.ts); the activations
// a convolution reads (normalised, or the UNet's residual stream, which float16 pipelines keep in float16
// anyway) fit float16.

import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import type { LoraModule, LoraWeights } from '../lora/lora-weights.js';
import { locationUnder, type WeightRef, type WeightSet } from '../safetensors/weight-set.js';
import { ModelGraph, type GraphPrecision } from '../qwen-image/graph-ops.js';

const FLOAT_TYPES = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: DataType.BFLOAT16 } as const;

export interface ConvOptions {
  readonly stride?: number;
  /** [top, left, bottom, right]; default: the kernel's half on every side. */
  readonly pads?: readonly [number, number, number, number];
  readonly bias?: boolean;
}

export class SdGraph extends ModelGraph {
  /** LoRA modules that patch convolutions (LoCon, LCM-LoRA), by the conv they patch. */
  private readonly convAdapters = new Map<string, { module: LoraModule; scale: string }[]>();
  /** The type convolutions and upsampling run in: the compute type, float16 in bfloat16 graphs. */
  readonly convType: DataType;

  constructor(name: string, weights: WeightSet, root: string = weights.root, precision: GraphPrecision = {}) {
    super(name, weights, root, undefined, precision);
    this.convType = this.computeType === DataType.BFLOAT16 ? DataType.FLOAT16 : this.computeType;
  }

  /** Linear modules go to the dense layers' side branches, 4-D ones to the convolutions'. */
  override addLora(lora: LoraWeights, scaleInput: string): void {
    const linear = new Map<string, LoraModule>();
    for (const [name, m] of lora.modules) {
      if (m.down.shape.length === 4) {
        const list = this.convAdapters.get(m.target) ?? [];
        list.push({ module: m, scale: scaleInput });
        this.convAdapters.set(m.target, list);
      } else linear.set(name, m);
    }
    super.addLora({ ...lora, modules: linear }, scaleInput);
  }

  /** A tensor of another file (a LoRA) as external data in the convolutions' type. */
  private fileWeight(ref: WeightRef): string {
    const dtype = FLOAT_TYPES[ref.dtype as keyof typeof FLOAT_TYPES];
    if (dtype === undefined) throw new Error(`tensor ${ref.name} of ${ref.file} is ${ref.dtype}, not a float type`);
    const value = this.external(ref.name, dtype, ref.shape, { location: locationUnder(this.root, ref.file), offset: ref.offset, length: ref.byteLength });
    return this.cast(value, dtype, this.convType);
  }

  /** A convolution on a compute-type value; the result is in the compute type. */
  conv(x: string, prefix: string, inC: number, outC: number, k: number, o: ConvOptions = {}): string {
    const half = (k - 1) / 2;
    const pads = o.pads ?? [half, half, half, half];
    const stride = o.stride ?? 1;
    const attrs = { pads: attr.ints(pads), strides: attr.ints([stride, stride]) };
    const xc = this.cast(x, this.computeType, this.convType);
    const inputs = [xc, this.weightAs(this.weights.get(`${prefix}.weight`, [outC, inC, k, k]), this.convType)];
    if (o.bias !== false) inputs.push(this.weightAs(this.weights.get(`${prefix}.bias`, [outC]), this.convType));
    let y = this.op('Conv', inputs, attrs);
    // y + strength * (alpha / rank) * up(down(x)): down has the layer's kernel and stride, up is 1x1.
    for (const { module, scale } of this.convAdapters.get(prefix) ?? []) {
      const [, , kh] = module.down.shape as [number, number, number, number];
      const downPads = kh === k ? pads : [0, 0, 0, 0];
      const low = this.op('Conv', [this.op('Conv', [xc, this.fileWeight(module.down)], { pads: attr.ints(downPads), strides: attr.ints([stride, stride]) }), this.fileWeight(module.up)]);
      const factor = this.cast(this.op('Mul', [scale, this.scalar(module.alpha / module.rank)]), DataType.FLOAT, this.convType);
      y = this.op('Add', [y, this.op('Mul', [low, factor])]);
    }
    return this.cast(y, this.convType, this.computeType);
  }

  /**
   * GroupNorm over [B, C, ...] with per-channel affine: InstanceNormalization on [B, groups, -1] in float32
   * (a group's sum of squares overflows float16 long before its values do; the CPU provider has no float16
   * kernel for it), the affine in the compute type with the weights as stored.
   */
  groupNorm(x: string, prefix: string, c: number, groups: number, eps: number): string {
    const grouped = this.op('Reshape', [this.cast(x, this.computeType, DataType.FLOAT), this.ints([0, groups, -1])]);
    const ones = this.constFloat('gn_ones', new Float32Array(groups).fill(1), [groups]);
    const zeros = this.constFloat('gn_zeros', new Float32Array(groups), [groups]);
    const normed = this.op('Reshape', [this.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: attr.float(eps) }), this.op('Shape', [x])]);
    const gamma = this.op('Reshape', [this.w(`${prefix}.weight`, [c]), this.ints([c, 1, 1])]);
    const beta = this.op('Reshape', [this.w(`${prefix}.bias`, [c]), this.ints([c, 1, 1])]);
    return this.op('Add', [this.op('Mul', [this.cast(normed, DataType.FLOAT, this.computeType), gamma]), beta]);
  }

  /** LayerNorm over the last axis with weight and bias; ONNX Runtime accumulates it in float32 (stash_type 1). */
  affineLayerNorm(x: string, prefix: string, dim: number, eps: number): string {
    return this.op('LayerNormalization', [x, this.w(`${prefix}.weight`, [dim]), this.w(`${prefix}.bias`, [dim])], { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) });
  }

  /**
   * ResnetBlock2D: GroupNorm, SiLU, conv, (+ projected time embedding), GroupNorm, SiLU, conv, plus the
   * input (through a 1x1 conv when the width changes).
   */
  resnet(x: string, prefix: string, inC: number, outC: number, norm: { groups: number; eps: number }, temb?: { value: string; dim: number }): string {
    let h = this.conv(this.silu(this.groupNorm(x, `${prefix}.norm1`, inC, norm.groups, norm.eps)), `${prefix}.conv1`, inC, outC, 3);
    if (temb) {
      const t = this.dense(this.silu(temb.value), `${prefix}.time_emb_proj`, temb.dim, outC);
      h = this.op('Add', [h, this.op('Unsqueeze', [t, this.ints([2, 3])])]);
    }
    h = this.conv(this.silu(this.groupNorm(h, `${prefix}.norm2`, outC, norm.groups, norm.eps)), `${prefix}.conv2`, outC, outC, 3);
    const shortcut = inC === outC ? x : this.conv(x, `${prefix}.conv_shortcut`, inC, outC, 1);
    return this.op('Add', [shortcut, h]);
  }

  /** GELU (erf) as com.microsoft Gelu: CPU, CUDA (bfloat16 too) and DirectML register it; DirectML has no ONNX Gelu. */
  gelu(x: string): string {
    return this.op('Gelu', [x], {}, { domain: 'com.microsoft' });
  }

  /** [B, C, H, W] -> [B, H*W, C] */
  toTokens(x: string, c: number): string {
    return this.op('Transpose', [this.op('Reshape', [x, this.ints([0, c, -1])])], { perm: attr.ints([0, 2, 1]) });
  }

  /** [B, H*W, C] -> [B, C, H, W] shaped like `like` (whose channel count may differ). */
  fromTokens(x: string, c: number, like: string): string {
    const shape = this.op('Concat', [this.op('Slice', [this.op('Shape', [like]), this.ints([0]), this.ints([1])]), this.ints([c]), this.op('Slice', [this.op('Shape', [like]), this.ints([2]), this.ints([4])])], { axis: attr.int(0) });
    return this.op('Reshape', [this.op('Transpose', [x], { perm: attr.ints([0, 2, 1]) }), shape]);
  }

  private resize(x: string, inputs: readonly string[]): string {
    const y = this.op('Resize', [this.cast(x, this.computeType, this.convType), ...inputs], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
    return this.cast(y, this.convType, this.computeType);
  }

  /** Nearest-neighbour upsampling to the spatial size of `like` (PyTorch's "nearest": floor of dst * in / out). */
  upsampleTo(x: string, like: string): string {
    const size = this.op('Concat', [this.op('Slice', [this.op('Shape', [x]), this.ints([0]), this.ints([2])]), this.op('Slice', [this.op('Shape', [like]), this.ints([2]), this.ints([4])])], { axis: attr.int(0) });
    return this.resize(x, ['', '', size]);
  }

  upsample2x(x: string): string {
    return this.resize(x, ['', this.constFloat('up2', [1, 1, 2, 2], [4])]);
  }

  /**
   * The sinusoidal embedding of float32 values [N] -> [N, dim] in float32: [cos, sin] (flip_sin_to_cos) or
   * [sin, cos]. Always float32: the arguments reach 1000 (timesteps) and beyond (SDXL's size conditioning),
   * where float16 keeps no fractional digits.
   */
  sinusoid(t: string, dim: number, flipSinToCos: boolean, freqShift: number): string {
    const half = Math.floor(dim / 2);
    // As diffusers: exponent = -ln(10000) * i / (half - shift), formed in float32.
    const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp(Math.fround(Math.fround(-Math.log(10000) * i) / (half - freqShift))));
    const args = this.op('Mul', [this.op('Unsqueeze', [t, this.ints([1])]), this.constFloat('freqs', freqs, [half])]);
    const sin = this.op('Sin', [args]);
    const cos = this.op('Cos', [args]);
    let emb = this.op('Concat', flipSinToCos ? [cos, sin] : [sin, cos], { axis: attr.int(1) });
    if (dim % 2 === 1) emb = this.op('Pad', [emb, this.ints([0, 0, 0, 1])]);
    return emb;
  }
}
