// Opens the components of a Stable Diffusion folder (text_encoder[, text_encoder_2], unet, vae) as one
// pipeline, checking that they belong together, with LoRA files mapped onto them as side branches.

import { join } from 'node:path';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import type { SessionConfig } from '../ort.js';
import type { LoraWeights } from '../lora/lora-weights.js';
import type { WeightSet } from '../safetensors/weight-set.js';
import { AutoencoderKl } from './autoencoder-kl.js';
import { ClipTextEncoder, type ClipUse } from './clip-text-encoder.js';
import { parseClipTextConfig, type ClipTextConfig } from './clip-text-config.js';
import { readConfigFile } from './config-fields.js';
import { SdPipeline } from './sd-pipeline.js';
import { loadSdLora, type SdLoraParts } from './sd-lora.js';
import { UnetModel } from './unet-model.js';
import type { UnetConfig } from './unet-config.js';
import { openWeightSet } from '../safetensors/weight-set.js';
import { weightStems } from './weight-files.js';
import type { AutoencoderConfig } from './autoencoder-kl.js';
import type { Precision } from '../../shared/precision.js';
import { sdModelPrecision, sdVaePrecision } from './sd-precision.js';
import type { SdFallback } from './sd-pipeline.js';

/** Session settings; `precision` is the plan's (each component derives its own, see sd-precision). */
export type SessionOptions = Omit<SessionConfig, 'externalDataFolder'>;

export interface SdComponentDirs {
  readonly textEncoder: string;
  /** SDXL's second encoder (CLIPTextModelWithProjection). */
  readonly textEncoder2?: string;
  readonly unet: string;
  readonly vae: string;
  /** The folder ONNX Runtime may read weights (and LoRA files) under. */
  readonly root: string;
}

/** What each encoder hands the UNet: SDXL the raw penultimate layer (and the pooled projection of the second), SD 1.x/2.x the normed last layer. */
export function clipUses(xl: boolean, layers: number, layers2?: number): { first: ClipUse; second?: ClipUse } {
  if (!xl) return { first: { hiddenIndex: layers, finalNorm: true, pooled: false } };
  return { first: { hiddenIndex: layers - 1, finalNorm: false, pooled: false }, second: { hiddenIndex: (layers2 ?? layers) - 1, finalNorm: false, pooled: true } };
}

export interface Opened {
  readonly unetConfig: UnetConfig;
  readonly unetWeights: WeightSet;
  readonly te: { weights: WeightSet; config: ClipTextConfig };
  readonly te2?: { weights: WeightSet; config: ClipTextConfig };
  readonly vae: { weights: WeightSet; config: AutoencoderConfig };
}

/** What each component computes in under a plan's precision. */
export interface SdPrecisions {
  readonly textEncoder: Precision;
  readonly textEncoder2?: Precision;
  readonly unet: Precision;
  readonly vae: Precision;
}

export function sdPrecisions(plan: Precision, opened: Opened): SdPrecisions {
  return {
    textEncoder: sdModelPrecision(plan, opened.te.weights),
    ...(opened.te2 ? { textEncoder2: sdModelPrecision(plan, opened.te2.weights) } : {}),
    unet: sdModelPrecision(plan, opened.unetWeights),
    vae: sdVaePrecision(plan, opened.vae.config, opened.te2 !== undefined),
  };
}

/** The provider a graph is built for: the first one tried. */
export function targetOf(session: SessionOptions): 'cpu' | 'cuda' | 'dml' {
  return (session.providers ?? ['cpu'])[0] ?? 'cpu';
}

/** Reads the configs and weight headers (no sessions) and checks that the widths agree. */
export async function openSdWeights(dirs: SdComponentDirs): Promise<Opened> {
  const unetConfig = await UnetModel.readConfig(dirs.unet);
  const unetWeights = await UnetModel.openWeights(dirs.unet, dirs.root);
  const vae = { config: await AutoencoderKl.readConfig(dirs.vae), weights: await AutoencoderKl.openWeights(dirs.vae, dirs.root) };
  const clip = async (dir: string, projection: boolean, label: string) => {
    const { raw, file } = await readConfigFile(dir);
    return { config: parseClipTextConfig(raw, file, projection), weights: await openWeightSet(dir, weightStems('model'), dirs.root, label) };
  };
  const te = await clip(dirs.textEncoder, false, 'text_encoder');
  const te2 = dirs.textEncoder2 ? await clip(dirs.textEncoder2, true, 'text_encoder_2') : undefined;
  const unetFile = join(dirs.unet, 'config.json');
  const mismatch = (reason: string) => new StudioError('model-unsupported', notice('error.componentsMismatch', { file: unetFile, reason }), unetFile);
  const context = te.config.hidden + (te2?.config.hidden ?? 0);
  if (unetConfig.crossAttentionDim !== context) throw mismatch(`cross_attention_dim is ${unetConfig.crossAttentionDim} but the text encoders give ${context} channels`);
  if (te2 && !unetConfig.addTime) throw mismatch('the folder has two text encoders (SDXL) but the UNet takes no text_time conditioning');
  if (!te2 && unetConfig.addTime) throw mismatch('the UNet takes SDXL text_time conditioning but the folder has no text_encoder_2');
  if (te2 && unetConfig.addTime && unetConfig.addTime.textEmbedDim !== te2.config.projectionDim) {
    throw mismatch(`the UNet expects pooled text embeddings of ${unetConfig.addTime.textEmbedDim} but text_encoder_2 projects to ${te2.config.projectionDim}`);
  }
  return { unetConfig, unetWeights, te, ...(te2 ? { te2 } : {}), vae };
}

export async function loadSdLoraFile(file: string, opened: Opened): Promise<SdLoraParts> {
  return loadSdLora(file, { unet: opened.unetWeights, unetConfig: opened.unetConfig, textEncoder: opened.te.weights, ...(opened.te2 ? { textEncoder2: opened.te2.weights } : {}) });
}

/** The text encoders (sessions on first use) in their precisions, with LoRA side branches. */
export function openTextEncoders(
  opened: Opened,
  session: SessionOptions,
  loras: { te?: readonly LoraWeights[]; te2?: readonly LoraWeights[] } = {},
  precisions: Pick<SdPrecisions, 'textEncoder' | 'textEncoder2'> = sdPrecisions(session.precision ?? 'f32', opened),
): { first: ClipTextEncoder; second?: ClipTextEncoder } {
  const uses = clipUses(opened.te2 !== undefined, opened.te.config.layers, opened.te2?.config.layers);
  const target = targetOf(session);
  const first = ClipTextEncoder.fromWeights(opened.te.weights, opened.te.config, uses.first, session, loras.te ?? [], { precision: precisions.textEncoder, target });
  const second =
    opened.te2 && uses.second
      ? ClipTextEncoder.fromWeights(opened.te2.weights, opened.te2.config, uses.second, session, loras.te2 ?? [], { precision: precisions.textEncoder2 ?? precisions.textEncoder, target })
      : undefined;
  return second ? { first, second } : { first };
}

/**
 * The pipeline with fixed LoRAs: each file is mapped onto the UNet and the text encoders it patches, and
 * becomes a side branch whose strength is an input of every run (k-th file: lora_scale_k of each part).
 */
export async function openSdPipeline(
  dirs: SdComponentDirs,
  session: SessionOptions,
  loraFiles: readonly string[] = [],
  styleSlots?: { count: number; rank: number },
  fallback?: (opened: Opened, loras: SdLoraParts[]) => SdFallback,
): Promise<{ pipeline: SdPipeline; opened: Opened; loras: SdLoraParts[]; precisions: SdPrecisions }> {
  const opened = await openSdWeights(dirs);
  const loras = await Promise.all(loraFiles.map((f) => loadSdLoraFile(f, opened)));
  const precisions = sdPrecisions(session.precision ?? 'f32', opened);
  const target = targetOf(session);
  // A file that does not patch a part still takes its slot there, so lora_scale_k means file k everywhere.
  const pick = (key: keyof SdLoraParts) => loras.map((l, k) => l[key] ?? { file: loraFiles[k]!, format: 'kohya' as const, modules: new Map(), metadata: {} });
  const encoders = openTextEncoders(opened, session, { te: pick('textEncoder'), te2: pick('textEncoder2') }, precisions);
  const unet = await UnetModel.fromWeights(opened.unetWeights, opened.unetConfig, session, pick('unet'), styleSlots, { precision: precisions.unet, target });
  const vae = AutoencoderKl.fromWeights(opened.vae.weights, opened.vae.config, session, { precision: precisions.vae, target });
  return { pipeline: new SdPipeline(encoders.first, encoders.second, unet, vae, fallback?.(opened, loras)), opened, loras, precisions };
}
