// AutoencoderKL, the VAE of SD 1.x/2.x and SDXL: config, encoder and decoder graphs, and the runner.
// The decoder output is not clamped (the pipelines map x / 2 + 0.5 into [0, 1] afterwards). The graphs
// compute in the precision they are built for (sd-graph-ops); which one a VAE may use is vaePrecision's call.

import { DataType } from '../onnx/onnx-model.js';
import { attr } from '../onnx/graph-builder.js';
import { floatTensor, LazySession, outputFloats, type SessionConfig } from '../ort.js';
import { ENGINE_OPSETS, type GraphPrecision } from '../qwen-image/graph-ops.js';
import type { Precision } from '../../shared/precision.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { ConfigFields, configError, readConfigFile } from './config-fields.js';
import { SdGraph } from './sd-graph-ops.js';
import { weightStems } from './weight-files.js';

export interface AutoencoderConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly blockOut: readonly number[];
  readonly layersPerBlock: number;
  readonly latentChannels: number;
  readonly groups: number;
  readonly scalingFactor: number;
  readonly shiftFactor: number;
  readonly forceUpcast: boolean;
  readonly useQuantConv: boolean;
  readonly usePostQuantConv: boolean;
  readonly midAttention: boolean;
}

const EPS = 1e-6;

export function parseAutoencoderConfig(raw: Record<string, unknown>, file: string): AutoencoderConfig {
  const f = new ConfigFields(raw, file);
  const blockOut = f.has('block_out_channels') ? f.positives('block_out_channels', (raw.block_out_channels as unknown[]).length) : [64];
  const down = f.strings('down_block_types', blockOut.map(() => 'DownEncoderBlock2D'));
  const up = f.strings('up_block_types', blockOut.map(() => 'UpDecoderBlock2D'));
  if (down.length !== blockOut.length || down.some((t) => t !== 'DownEncoderBlock2D')) throw configError(file, `down_block_types ${JSON.stringify(down)} are not ${blockOut.length} DownEncoderBlock2D blocks`);
  if (up.length !== blockOut.length || up.some((t) => t !== 'UpDecoderBlock2D')) throw configError(file, `up_block_types ${JSON.stringify(up)} are not ${blockOut.length} UpDecoderBlock2D blocks`);
  const act = f.string('act_fn', 'silu');
  if (act !== 'silu') throw configError(file, `act_fn "${act}" is not supported (silu)`);
  if (f.has('latents_mean') || f.has('latents_std')) throw configError(file, 'latents_mean / latents_std normalisation is not supported for this VAE');
  const groups = f.positive('norm_num_groups', 32);
  for (const c of blockOut) if (c % groups !== 0) throw configError(file, `block width ${c} is not divisible by norm_num_groups ${groups}`);
  return {
    inChannels: f.positive('in_channels', 3),
    outChannels: f.positive('out_channels', 3),
    blockOut,
    layersPerBlock: f.positive('layers_per_block', 1),
    latentChannels: f.positive('latent_channels', 4),
    groups,
    scalingFactor: f.number('scaling_factor', 0.18215),
    shiftFactor: f.optionalNumber('shift_factor') ?? 0,
    forceUpcast: f.boolean('force_upcast', true),
    useQuantConv: f.boolean('use_quant_conv', true),
    usePostQuantConv: f.boolean('use_post_quant_conv', true),
    midAttention: f.boolean('mid_block_add_attention', true),
  };
}

/** The mid-block attention: one head as wide as the block, old checkpoints name q/k/v query/key/value. */
function attentionBlock(g: SdGraph, x: string, prefix: string, c: number, groups: number): string {
  const legacy = g.weights.has(`${prefix}.query.weight`);
  const name = (modern: string, old: string) => `${prefix}.${legacy ? old : modern}`;
  const normPrefix = legacy ? `${prefix}.group_norm` : `${prefix}.group_norm`;
  const tokens = g.toTokens(g.groupNorm(x, normPrefix, c, groups, EPS), c);
  const project = (n: string) => g.dense(tokens, n, c, c);
  const attended = g.fusedAttention(project(name('to_q', 'query')), project(name('to_k', 'key')), project(name('to_v', 'value')), 1, c);
  const out = g.dense(attended, name('to_out.0', 'proj_attn'), c, c);
  return g.op('Add', [x, g.fromTokens(out, c, x)]);
}

function midBlock(g: SdGraph, x: string, prefix: string, c: number, cfg: AutoencoderConfig): string {
  const norm = { groups: cfg.groups, eps: EPS };
  let h = g.resnet(x, `${prefix}.resnets.0`, c, c, norm);
  if (cfg.midAttention) h = attentionBlock(g, h, `${prefix}.attentions.0`, c, cfg.groups);
  return g.resnet(h, `${prefix}.resnets.1`, c, c, norm);
}

/** z [B, latent, h, w] (the VAE's own space: latents / scaling_factor + shift) -> image [B, 3, 8h, 8w]. */
export function buildDecoderGraph(weights: WeightSet, cfg: AutoencoderConfig, precision: GraphPrecision = {}): Uint8Array {
  return decoderGraph(weights, cfg, precision).encode(ENGINE_OPSETS);
}

export function decoderGraph(weights: WeightSet, cfg: AutoencoderConfig, precision: GraphPrecision = {}): SdGraph {
  const g = new SdGraph('autoencoder_kl_decoder', weights, weights.root, precision);
  const z = g.toCompute(g.input('z', DataType.FLOAT, ['batch', cfg.latentChannels, 'height', 'width']), DataType.FLOAT);
  const norm = { groups: cfg.groups, eps: EPS };
  const rev = [...cfg.blockOut].reverse();
  let x = cfg.usePostQuantConv ? g.conv(z, 'post_quant_conv', cfg.latentChannels, cfg.latentChannels, 1) : z;
  x = g.conv(x, 'decoder.conv_in', cfg.latentChannels, rev[0]!, 3);
  x = midBlock(g, x, 'decoder.mid_block', rev[0]!, cfg);
  let prev = rev[0]!;
  for (let i = 0; i < rev.length; i++) {
    const out = rev[i]!;
    for (let j = 0; j <= cfg.layersPerBlock; j++) {
      x = g.resnet(x, `decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? prev : out, out, norm);
    }
    if (i < rev.length - 1) x = g.conv(g.upsample2x(x), `decoder.up_blocks.${i}.upsamplers.0.conv`, out, out, 3);
    prev = out;
  }
  x = g.conv(g.silu(g.groupNorm(x, 'decoder.conv_norm_out', prev, cfg.groups, EPS)), 'decoder.conv_out', prev, cfg.outChannels, 3);
  g.output(g.cast(x, g.computeType, DataType.FLOAT), 'sample', DataType.FLOAT, ['batch', cfg.outChannels, 'image_height', 'image_width']);
  return g;
}

/** image [B, 3, H, W] in [-1, 1] -> mean, logvar [B, latent, H/8, W/8] of the latent distribution. */
export function buildEncoderGraph(weights: WeightSet, cfg: AutoencoderConfig, precision: GraphPrecision = {}): Uint8Array {
  return encoderGraph(weights, cfg, precision).encode(ENGINE_OPSETS);
}

export function encoderGraph(weights: WeightSet, cfg: AutoencoderConfig, precision: GraphPrecision = {}): SdGraph {
  const g = new SdGraph('autoencoder_kl_encoder', weights, weights.root, precision);
  const image = g.toCompute(g.input('image', DataType.FLOAT, ['batch', cfg.inChannels, 'height', 'width']), DataType.FLOAT);
  const norm = { groups: cfg.groups, eps: EPS };
  let x = g.conv(image, 'encoder.conv_in', cfg.inChannels, cfg.blockOut[0]!, 3);
  let prev = cfg.blockOut[0]!;
  for (let i = 0; i < cfg.blockOut.length; i++) {
    const out = cfg.blockOut[i]!;
    for (let j = 0; j < cfg.layersPerBlock; j++) x = g.resnet(x, `encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? prev : out, out, norm);
    // Downsample2D of the encoder: zero padding on the right and bottom only, then a stride-2 conv.
    if (i < cfg.blockOut.length - 1) x = g.conv(x, `encoder.down_blocks.${i}.downsamplers.0.conv`, out, out, 3, { stride: 2, pads: [0, 0, 1, 1] });
    prev = out;
  }
  x = midBlock(g, x, 'encoder.mid_block', prev, cfg);
  x = g.conv(g.silu(g.groupNorm(x, 'encoder.conv_norm_out', prev, cfg.groups, EPS)), 'encoder.conv_out', prev, 2 * cfg.latentChannels, 3);
  if (cfg.useQuantConv) x = g.conv(x, 'quant_conv', 2 * cfg.latentChannels, 2 * cfg.latentChannels, 1);
  const [mean, logvar] = g.opN('Split', [g.cast(x, g.computeType, DataType.FLOAT)], 2, { axis: attr.int(1), num_outputs: attr.int(2) });
  const dims = ['batch', cfg.latentChannels, 'latent_height', 'latent_width'];
  g.output(mean!, 'mean', DataType.FLOAT, dims);
  g.output(g.op('Clip', [logvar!, g.constFloat('lv_lo', [-30], []), g.constFloat('lv_hi', [20], [])]), 'logvar', DataType.FLOAT, dims);
  return g;
}

export class AutoencoderKl {
  private encoder: LazySession | undefined;

  private constructor(
    readonly weights: WeightSet,
    private readonly decoder: LazySession,
    private readonly session: Omit<SessionConfig, 'externalDataFolder'>,
    readonly config: AutoencoderConfig,
    private readonly graphPrecision: GraphPrecision,
  ) {}

  static async readConfig(dir: string): Promise<AutoencoderConfig> {
    const { raw, file } = await readConfigFile(dir);
    return parseAutoencoderConfig(raw, file);
  }

  static async openWeights(dir: string, root: string): Promise<WeightSet> {
    return openWeightSet(dir, weightStems('diffusion_pytorch_model'), root, 'VAE');
  }

  /** Sessions in `precision` (graph and session); the encoder's only when an image is encoded. */
  static async open(dir: string, root: string, session: Omit<SessionConfig, 'externalDataFolder'>, precision: GraphPrecision = {}): Promise<AutoencoderKl> {
    return AutoencoderKl.fromWeights(await AutoencoderKl.openWeights(dir, root), await AutoencoderKl.readConfig(dir), session, precision);
  }

  static fromWeights(weights: WeightSet, config: AutoencoderConfig, session: Omit<SessionConfig, 'externalDataFolder'>, precision: GraphPrecision = {}): AutoencoderKl {
    const s = { ...session, precision: precision.precision ?? 'f32' };
    const decoder = new LazySession('VAE decoder', buildDecoderGraph(weights, config, precision), { ...s, externalDataFolder: weights.root });
    return new AutoencoderKl(weights, decoder, s, config, precision);
  }

  get precision(): Precision {
    return this.graphPrecision.precision ?? 'f32';
  }

  /** Pixels per latent: 2 to the number of downsamplers (8 for every published SD VAE). */
  get scale(): number {
    return 2 ** (this.config.blockOut.length - 1);
  }

  async load(): Promise<void> {
    await this.decoder.get();
  }

  /** z [batch, latent, h, w] in the VAE's own space -> [batch, out, scale*h, scale*w], unclamped. */
  async decode(z: Float32Array, batch: number, h: number, w: number): Promise<Float32Array> {
    const out = await this.decoder.run({ z: await floatTensor(z, [batch, this.config.latentChannels, h, w]) });
    return outputFloats(out, 'sample');
  }

  async encode(image: Float32Array, batch: number, height: number, width: number): Promise<{ mean: Float32Array; logvar: Float32Array }> {
    this.encoder ??= new LazySession('VAE encoder', buildEncoderGraph(this.weights, this.config, this.graphPrecision), { ...this.session, externalDataFolder: this.weights.root });
    const out = await this.encoder.run({ image: await floatTensor(image, [batch, this.config.inChannels, height, width]) });
    return { mean: outputFloats(out, 'mean'), logvar: outputFloats(out, 'logvar') };
  }

  async unload(): Promise<void> {
    await Promise.all([this.decoder.unload(), this.encoder?.unload()]);
  }

  release(): Promise<void> {
    return this.unload();
  }
}
