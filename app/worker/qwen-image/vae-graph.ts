// The Qwen-Image (Wan-style causal 3-D) VAE for a single frame, as 2-D ONNX graphs.
//
// For one frame a causal 3-D convolution sees zero padding in the past, so only the kernel's last
// temporal slice touches the frame: each conv runs as a 2-D conv on that slice, and the temporal
// resamplers' time_conv is not used (the reference skips it on the first frame too).
//
// Half precision: activations and convolutions in the compute type; each norm's reduction over channels
// in float32 (a sum of squares of 384 channels overflows float16 long before the values do).

import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { ENGINE_OPSETS, ModelGraph, type GraphPrecision } from './graph-ops.js';
import type { VaeConfig } from './vae-config.js';

class VaeGraph extends ModelGraph {
  /** A causal 3-D conv (weights [out, in, kt, kh, kw]) on one frame: the last temporal slice as a 2-D conv. */
  causalConv(x: string, prefix: string, inC: number, outC: number, k: 1 | 3): string {
    const w5 = this.w(`${prefix}.weight`, [outC, inC, k, k, k]);
    const w4 = this.op('Squeeze', [this.op('Slice', [w5, this.ints([k - 1]), this.ints([k]), this.ints([2])]), this.ints([2])]);
    const pad = (k - 1) / 2;
    return this.op('Conv', [x, w4, this.w(`${prefix}.bias`, [outC])], { pads: attr.ints([pad, pad, pad, pad]) });
  }

  conv2d(x: string, prefix: string, inC: number, outC: number, k: number, options: { pads: number[]; strides?: number[] }): string {
    return this.op('Conv', [x, this.w(`${prefix}.weight`, [outC, inC, k, k]), this.w(`${prefix}.bias`, [outC])], {
      pads: attr.ints(options.pads),
      ...(options.strides ? { strides: attr.ints(options.strides) } : {}),
    });
  }

  /**
   * F.normalize over channels times sqrt(C) times gamma: the VAE's "RMS_norm", computed in the stream type
   * (float32). One ReduceL2 over the channels (instead of square, sum and root: two fewer passes over the
   * activations), and one reciprocal per pixel multiplied in rather than a division per value.
   */
  channelNorm(x: string, name: string, c: number, gammaShape: readonly number[]): string {
    const xs = this.cast(x, this.computeType, this.streamType);
    const norm = this.op('ReduceL2', [xs, this.ints([1])], { keepdims: attr.int(1) });
    const normed = this.op('Mul', [xs, this.op('Reciprocal', [this.op('Max', [norm, this.scalar(1e-12, this.streamType)])])]);
    const gamma = this.op('Reshape', [this.ws(name, gammaShape), this.ints([1, c, 1, 1])]);
    return this.toCompute(this.op('Mul', [normed, this.op('Mul', [gamma, this.scalar(Math.sqrt(c), this.streamType)])]));
  }

  resBlock(x: string, prefix: string, inC: number, outC: number): string {
    const shortcut = inC === outC ? x : this.causalConv(x, `${prefix}.conv_shortcut`, inC, outC, 1);
    let h = this.causalConv(this.silu(this.channelNorm(x, `${prefix}.norm1.gamma`, inC, [inC, 1, 1, 1])), `${prefix}.conv1`, inC, outC, 3);
    h = this.causalConv(this.silu(this.channelNorm(h, `${prefix}.norm2.gamma`, outC, [outC, 1, 1, 1])), `${prefix}.conv2`, outC, outC, 3);
    return this.op('Add', [h, shortcut]);
  }

  /** Single-head self-attention over the pixels of the frame. */
  attentionBlock(x: string, prefix: string, c: number): string {
    const normed = this.channelNorm(x, `${prefix}.norm.gamma`, c, [c, 1, 1]);
    const qkv = this.conv2d(normed, `${prefix}.to_qkv`, c, 3 * c, 1, { pads: [0, 0, 0, 0] });
    const tokens = this.op('Transpose', [this.op('Reshape', [qkv, this.ints([0, 3 * c, -1])])], { perm: attr.ints([0, 2, 1]) });
    const [q, k, v] = this.opN('Split', [tokens], 3, { axis: attr.int(-1), num_outputs: attr.int(3) });
    const attended = this.fusedAttention(q!, k!, v!, 1, c);
    const back = this.op('Reshape', [this.op('Transpose', [attended], { perm: attr.ints([0, 2, 1]) }), this.op('Shape', [x])]);
    return this.op('Add', [x, this.conv2d(back, `${prefix}.proj`, c, c, 1, { pads: [0, 0, 0, 0] })]);
  }

  midBlock(x: string, prefix: string, c: number): string {
    let h = this.resBlock(x, `${prefix}.resnets.0`, c, c);
    h = this.attentionBlock(h, `${prefix}.attentions.0`, c);
    return this.resBlock(h, `${prefix}.resnets.1`, c, c);
  }
}

function graphFor(name: string, weights: WeightSet, precision: GraphPrecision): VaeGraph {
  return new VaeGraph(name, weights, weights.root, undefined, precision);
}

/** z [B, zDim, h, w] in the VAE's latent space -> image [B, 3, 8h, 8w] in [-1, 1]. */
export function buildVaeDecoderGraph(weights: WeightSet, cfg: VaeConfig, precision: GraphPrecision = {}): Uint8Array {
  return vaeDecoderGraph(weights, cfg, precision).encode(ENGINE_OPSETS);
}

export function vaeDecoderGraph(weights: WeightSet, cfg: VaeConfig, precision: GraphPrecision = {}): ModelGraph {
  const g = graphFor('qwen_image_vae_decoder', weights, precision);
  const z = g.toCompute(g.input('z', DataType.FLOAT, ['batch', cfg.zDim, 'height', 'width']), DataType.FLOAT);
  const mult = cfg.dimMult;
  const dims = [mult[mult.length - 1]!, ...[...mult].reverse()].map((u) => u * cfg.baseDim);
  let x = g.causalConv(z, 'post_quant_conv', cfg.zDim, cfg.zDim, 1);
  x = g.causalConv(x, 'decoder.conv_in', cfg.zDim, dims[0]!, 3);
  x = g.midBlock(x, 'decoder.mid_block', dims[0]!);
  let outDim = dims[0]!;
  for (let i = 0; i < dims.length - 1; i++) {
    let inDim = i > 0 ? dims[i]! / 2 : dims[i]!;
    outDim = dims[i + 1]!;
    for (let r = 0; r <= cfg.numResBlocks; r++) {
      x = g.resBlock(x, `decoder.up_blocks.${i}.resnets.${r}`, inDim, outDim);
      inDim = outDim;
    }
    if (i !== mult.length - 1) {
      const up = g.op('Resize', [x, '', g.constFloat('up2', [1, 1, 2, 2], [4])], {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      });
      x = g.conv2d(up, `decoder.up_blocks.${i}.upsamplers.0.resample.1`, outDim, outDim / 2, 3, { pads: [1, 1, 1, 1] });
    }
  }
  x = g.causalConv(g.silu(g.channelNorm(x, 'decoder.norm_out.gamma', outDim, [outDim, 1, 1, 1])), 'decoder.conv_out', outDim, cfg.inputChannels, 3);
  const clamped = g.op('Clip', [g.cast(x, g.computeType, DataType.FLOAT), g.constFloat('lo', [-1], []), g.constFloat('hi', [1], [])]);
  g.output(clamped, 'sample', DataType.FLOAT, ['batch', cfg.inputChannels, 'image_height', 'image_width']);
  return g;
}

/** image [B, 3, H, W] in [-1, 1] -> mean, logvar [B, zDim, H/8, W/8] of the latent distribution. */
export function buildVaeEncoderGraph(weights: WeightSet, cfg: VaeConfig, precision: GraphPrecision = {}): Uint8Array {
  return vaeEncoderGraph(weights, cfg, precision).encode(ENGINE_OPSETS);
}

export function vaeEncoderGraph(weights: WeightSet, cfg: VaeConfig, precision: GraphPrecision = {}): ModelGraph {
  const g = graphFor('qwen_image_vae_encoder', weights, precision);
  const image = g.toCompute(g.input('image', DataType.FLOAT, ['batch', cfg.inputChannels, 'height', 'width']), DataType.FLOAT);
  const dims = [1, ...cfg.dimMult].map((u) => u * cfg.baseDim);
  let x = g.causalConv(image, 'encoder.conv_in', cfg.inputChannels, dims[0]!, 3);
  let index = 0;
  let outDim = dims[0]!;
  for (let i = 0; i < dims.length - 1; i++) {
    let inDim = dims[i]!;
    outDim = dims[i + 1]!;
    for (let r = 0; r < cfg.numResBlocks; r++) {
      x = g.resBlock(x, `encoder.down_blocks.${index++}`, inDim, outDim);
      inDim = outDim;
    }
    if (i !== cfg.dimMult.length - 1) {
      // ZeroPad2d((0, 1, 0, 1)) then a stride-2 conv: padding only at the bottom and right.
      x = g.conv2d(x, `encoder.down_blocks.${index++}.resample.1`, outDim, outDim, 3, { pads: [0, 0, 1, 1], strides: [2, 2] });
    }
  }
  x = g.midBlock(x, 'encoder.mid_block', outDim);
  x = g.causalConv(g.silu(g.channelNorm(x, 'encoder.norm_out.gamma', outDim, [outDim, 1, 1, 1])), 'encoder.conv_out', outDim, 2 * cfg.zDim, 3);
  x = g.causalConv(x, 'quant_conv', 2 * cfg.zDim, 2 * cfg.zDim, 1);
  const [mean, logvar] = g.opN('Split', [g.cast(x, g.computeType, DataType.FLOAT)], 2, { axis: attr.int(1), num_outputs: attr.int(2) });
  g.output(mean!, 'mean', DataType.FLOAT, ['batch', cfg.zDim, 'latent_height', 'latent_width']);
  g.output(g.op('Clip', [logvar!, g.constFloat('lv_lo', [-30], []), g.constFloat('lv_hi', [20], [])]), 'logvar', DataType.FLOAT, [
    'batch',
    cfg.zDim,
    'latent_height',
    'latent_width',
  ]);
  return g;
}
