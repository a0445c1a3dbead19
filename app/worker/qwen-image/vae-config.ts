// The AutoencoderKLQwenImage config (vae/config.json); missing fields take the reference defaults.

import { FAMILIES } from '../../shared/model-families.js';
import { StudioError } from '../../shared/result.js';
import { notice, type NoticeKey, type NoticeParams } from '../../shared/notices.js';
import { configTooLarge } from './transformer-config.js';

export interface VaeConfig {
  readonly baseDim: number;
  readonly zDim: number;
  readonly dimMult: readonly number[];
  readonly numResBlocks: number;
  readonly attnScales: readonly number[];
  readonly temporalDownsample: readonly boolean[];
  readonly inputChannels: number;
  readonly latentsMean: readonly number[];
  readonly latentsStd: readonly number[];
}

const DEFAULT_MEAN = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921];
const DEFAULT_STD = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.916];

export function parseVaeConfig(raw: Record<string, unknown>, file: string): VaeConfig {
  const cfg: VaeConfig = {
    baseDim: (raw.base_dim as number | undefined) ?? 96,
    zDim: (raw.z_dim as number | undefined) ?? 16,
    dimMult: (raw.dim_mult as number[] | undefined) ?? [1, 2, 4, 4],
    numResBlocks: (raw.num_res_blocks as number | undefined) ?? 2,
    attnScales: (raw.attn_scales as number[] | undefined) ?? [],
    temporalDownsample: (raw.temperal_downsample as boolean[] | undefined) ?? [false, true, true],
    inputChannels: (raw.input_channels as number | undefined) ?? 3,
    latentsMean: (raw.latents_mean as number[] | undefined) ?? DEFAULT_MEAN,
    latentsStd: (raw.latents_std as number[] | undefined) ?? DEFAULT_STD,
  };
  const bad = (key: NoticeKey, params: NoticeParams = {}) => new StudioError('model-unsupported', notice(key, { file, ...params }), file);
  if (!Number.isInteger(cfg.baseDim) || cfg.baseDim <= 0) throw bad('error.vaeBaseDim');
  // Several times the official VAE's sizes (base 96, 4 stages, 2 res blocks, 16 latent channels).
  if (cfg.baseDim > 1024) throw configTooLarge(file, 'base_dim', cfg.baseDim, 1024);
  if (!Array.isArray(cfg.dimMult) || cfg.dimMult.some((m) => !Number.isInteger(m) || m <= 0 || m > 16)) throw bad('error.vaeDimMult');
  if (cfg.dimMult.length > 8) throw configTooLarge(file, 'dim_mult length', cfg.dimMult.length, 8);
  if (!Number.isInteger(cfg.numResBlocks) || cfg.numResBlocks < 0) throw bad('error.vaeResBlocks');
  if (cfg.numResBlocks > 16) throw configTooLarge(file, 'num_res_blocks', cfg.numResBlocks, 16);
  if (!Number.isInteger(cfg.zDim) || cfg.zDim <= 0) throw bad('error.vaeZDim');
  if (cfg.zDim > 256) throw configTooLarge(file, 'z_dim', cfg.zDim, 256);
  if (cfg.dimMult.length < 2 || cfg.temporalDownsample.length !== cfg.dimMult.length - 1) throw bad('error.vaeDownsample');
  if (cfg.attnScales.length > 0) throw bad('error.vaeAttention', { family: FAMILIES['qwen-image'].title });
  if (cfg.latentsMean.length !== cfg.zDim || cfg.latentsStd.length !== cfg.zDim) throw bad('error.vaeLatentStats', { count: cfg.zDim });
  if (cfg.inputChannels !== 3) throw bad('error.vaeChannels');
  return cfg;
}

/** Pixels per latent along each side: 2 per downsampling stage. */
export function vaeScale(cfg: VaeConfig): number {
  return 2 ** (cfg.dimMult.length - 1);
}
