// Graph building blocks of the Stable Diffusion UNets and VAEs: convolutions (with LoRA side branches on
// conv layers too), GroupNorm, ResNet blocks, spatial self-attention and nearest upsampling.

import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import type { LoraModule, LoraWeights } from '../lora/lora-weights.js';
import { locationUnder, type WeightRef } from '../safetensors/weight-set.js';
import { ModelGraph } from '../qwen-image/graph-ops.js';

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

  /** A tensor of another file (a LoRA), as external data cast to float32. */
  private fileWeight(ref: WeightRef): string {
    const dtype = FLOAT_TYPES[ref.dtype as keyof typeof FLOAT_TYPES];
    if (dtype === undefined) throw new Error(`tensor ${ref.name} of ${ref.file} is ${ref.dtype}, not a float type`);
    const value = this.external(ref.name, dtype, ref.shape, { location: locationUnder(this.root, ref.file), offset: ref.offset, length: ref.byteLength });
    return dtype === DataType.FLOAT ? value : this.op('Cast', [value], { to: attr.int(DataType.FLOAT) });
  }

  conv(x: string, prefix: string, inC: number, outC: number, k: number, o: ConvOptions = {}): string {
    const half = (k - 1) / 2;
    const pads = o.pads ?? [half, half, half, half];
    const stride = o.stride ?? 1;
    const attrs = { pads: attr.ints(pads), strides: attr.ints([stride, stride]) };
    const inputs = [x, this.w(`${prefix}.weight`, [outC, inC, k, k])];
    if (o.bias !== false) inputs.push(this.w(`${prefix}.bias`, [outC]));
    let y = this.op('Conv', inputs, attrs);
    // y + strength * (alpha / rank) * up(down(x)): down has the layer's kernel and stride, up is 1x1.
    for (const { module, scale } of this.convAdapters.get(prefix) ?? []) {
      const [, , kh] = module.down.shape as [number, number, number, number];
      const downPads = kh === k ? pads : [0, 0, 0, 0];
      const low = this.op('Conv', [this.op('Conv', [x, this.fileWeight(module.down)], { pads: attr.ints(downPads), strides: attr.ints([stride, stride]) }), this.fileWeight(module.up)]);
      y = this.op('Add', [y, this.op('Mul', [low, this.op('Mul', [scale, this.scalar(module.alpha / module.rank)])])]);
    }
    return y;
  }

  /** GroupNorm over [B, C, ...] with per-channel affine, as InstanceNormalization on [B, groups, -1]. */
  groupNorm(x: string, prefix: string, c: number, groups: number, eps: number): string {
    const grouped = this.op('Reshape', [x, this.ints([0, groups, -1])]);
    const ones = this.constFloat('gn_ones', new Float32Array(groups).fill(1), [groups]);
    const zeros = this.constFloat('gn_zeros', new Float32Array(groups), [groups]);
    const normed = this.op('Reshape', [this.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: attr.float(eps) }), this.op('Shape', [x])]);
    const gamma = this.op('Reshape', [this.w(`${prefix}.weight`, [c]), this.ints([c, 1, 1])]);
    const beta = this.op('Reshape', [this.w(`${prefix}.bias`, [c]), this.ints([c, 1, 1])]);
    return this.op('Add', [this.op('Mul', [normed, gamma]), beta]);
  }

  /** LayerNorm over the last axis with weight and bias. */
  affineLayerNorm(x: string, prefix: string, dim: number, eps: number): string {
    return this.op('LayerNormalization', [x, this.w(`${prefix}.weight`, [dim]), this.w(`${prefix}.bias`, [dim])], { axis: attr.int(-1), epsilon: attr.float(eps) });
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

  /** [B, S, heads * headDim] -> [B, heads, S, headDim] */
  toHeads(x: string, heads: number, headDim: number): string {
    return this.op('Transpose', [this.op('Reshape', [x, this.ints([0, 0, heads, headDim])])], { perm: attr.ints([0, 2, 1, 3]) });
  }

  /** [B, heads, S, headDim] -> [B, S, heads * headDim] */
  fromHeads(x: string, width: number): string {
    return this.op('Reshape', [this.op('Transpose', [x], { perm: attr.ints([0, 2, 1, 3]) }), this.ints([0, 0, width])]);
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

  /** Nearest-neighbour upsampling to the spatial size of `like` (PyTorch's "nearest": floor of dst * in / out). */
  upsampleTo(x: string, like: string): string {
    const size = this.op('Concat', [this.op('Slice', [this.op('Shape', [x]), this.ints([0]), this.ints([2])]), this.op('Slice', [this.op('Shape', [like]), this.ints([2]), this.ints([4])])], { axis: attr.int(0) });
    return this.op('Resize', [x, '', '', size], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
  }

  upsample2x(x: string): string {
    return this.op('Resize', [x, '', this.constFloat('up2', [1, 1, 2, 2], [4])], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
  }

  /** The sinusoidal embedding of float values [N] -> [N, dim]: [cos, sin] (flip_sin_to_cos) or [sin, cos]. */
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
