// Opens the Qwen-Image components (text encoder, transformer, VAE) from their diffusers-layout folders.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import type { SessionConfig } from '../ort.js';
import { loadLora, type LoraWeights } from '../lora/lora-weights.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';
import { QwenImagePipeline, type PrecisionFallback } from './pipeline.js';
import { parseTextEncoderConfig } from './text-encoder-config.js';
import { QwenTextEncoder } from './text-encoder-model.js';
import { parseTransformerConfig } from './transformer-config.js';
import { QwenTransformer, type TransformerLayout } from './transformer-model.js';
import { parseVaeConfig } from './vae-config.js';
import { QwenVae } from './vae-model.js';
import { componentPrecision, type Precision } from '../../shared/precision.js';
import type { GraphPrecision, HalfCare } from './graph-ops.js';

export async function readConfig(dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, 'config.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new StudioError('model-not-found', notice('error.modelFileMissing', { file }), file);
  });
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new StudioError('model-unsupported', notice('error.jsonInvalid', { file, problem: (e as Error).message }), file);
  }
}

export interface ComponentDirs {
  readonly textEncoder: string;
  readonly transformer: string;
  readonly vae: string;
  /** The folder ONNX Runtime may read weights under (holds all three; for the HF cache, the repo folder). */
  readonly root: string;
}

/**
 * Session settings for every component, with the precision the plan computes in (each component derives
 * its own, see componentPrecision) and, for comparisons only, how much care half precision gets.
 */
export type SessionOptions = Omit<SessionConfig, 'externalDataFolder' | 'precision'> & { readonly precision?: Precision; readonly halfCare?: HalfCare };

/** The graph precision and session settings of one component under these options. */
function forComponent(options: SessionOptions, component: 'transformer' | 'text-encoder' | 'vae'): { session: Omit<SessionConfig, 'externalDataFolder'>; precision: GraphPrecision } {
  const { precision: plan, halfCare, ...session } = options;
  const precision = componentPrecision(plan ?? 'f32', component === 'transformer' ? 'denoiser' : component);
  const target = (session.providers ?? ['cpu'])[0] ?? 'cpu';
  return { session: { ...session, precision }, precision: { precision, target, ...(halfCare ? { halfCare } : {}) } };
}

/** Opens the transformer with LoRA files (mapped onto its weights) as strength-controlled side branches. */
export async function openTransformer(
  dir: string,
  root: string,
  session: SessionOptions,
  loraFiles: readonly (string | LoraWeights)[] = [],
  styleSlots?: { count: number; rank: number },
  layout: TransformerLayout | ((weights: WeightSet) => Promise<TransformerLayout>) = {},
): Promise<QwenTransformer> {
  const config = parseTransformerConfig(await readConfig(dir), join(dir, 'config.json'));
  const weights = await openWeightSet(dir, ['diffusion_pytorch_model'], root, 'transformer');
  // A file is mapped here; an already mapped LoRA (the transformer part of a file) is used as it is.
  const loras = await Promise.all(loraFiles.map((f) => (typeof f === 'string' ? loadLora(f, weights) : Promise.resolve(f))));
  const resolved = typeof layout === 'function' ? await layout(weights) : layout;
  const c = forComponent(session, 'transformer');
  return QwenTransformer.open(weights, config, c.session, loras, styleSlots, resolved, c.precision);
}

export async function openTextEncoder(
  dir: string,
  root: string,
  session: SessionOptions,
  loras: readonly LoraWeights[] = [],
  quantize?: (weights: WeightSet) => Promise<QuantizedLinears | undefined>,
): Promise<QwenTextEncoder> {
  const config = parseTextEncoderConfig(await readConfig(dir), join(dir, 'config.json'));
  const weights = await openWeightSet(dir, ['model'], root, 'text encoder');
  const c = forComponent(session, 'text-encoder');
  return QwenTextEncoder.open(weights, config, c.session, loras, await quantize?.(weights), c.precision);
}

export async function openVae(dir: string, root: string, session: SessionOptions): Promise<QwenVae> {
  const config = parseVaeConfig(await readConfig(dir), join(dir, 'config.json'));
  const weights = await openWeightSet(dir, ['diffusion_pytorch_model'], root, 'VAE');
  const c = forComponent(session, 'vae');
  return QwenVae.open(weights, config, c.session, c.precision);
}

/** How an execution plan lays out the components; each is told the weights it will use. */
export interface ComponentLayouts {
  readonly transformer?: (weights: WeightSet) => Promise<TransformerLayout>;
  readonly textEncoder?: (weights: WeightSet) => Promise<QuantizedLinears | undefined>;
}

/** Opens the three components; no session is created until one is used (see QwenImagePipeline.load). */
export async function openPipeline(
  dirs: ComponentDirs,
  session: SessionOptions,
  loraFiles: readonly string[] = [],
  styleSlots?: { count: number; rank: number },
  layouts: ComponentLayouts = {},
  fallback?: PrecisionFallback,
): Promise<QwenImagePipeline> {
  const textEncoder = await openTextEncoder(dirs.textEncoder, dirs.root, session, [], layouts.textEncoder);
  const transformer = await openTransformer(dirs.transformer, dirs.root, session, loraFiles, styleSlots, layouts.transformer).catch(async (e: unknown) => {
    await textEncoder.release();
    throw e;
  });
  const vae = await openVae(dirs.vae, dirs.root, session).catch(async (e: unknown) => {
    await Promise.all([textEncoder.release(), transformer.release()]);
    throw e;
  });
  if (textEncoder.config.hidden !== transformer.config.jointAttentionDim) {
    await Promise.all([textEncoder.release(), transformer.release(), vae.release()]);
    throw new StudioError(
      'model-unsupported',
      notice('error.configJointDim', { hidden: textEncoder.config.hidden, jointDim: transformer.config.jointAttentionDim }),
    );
  }
  return new QwenImagePipeline(textEncoder, transformer, vae, fallback);
}
