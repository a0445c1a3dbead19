// Opens the Qwen-Image components (text encoder, transformer, VAE) from their diffusers-layout folders.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import type { SessionConfig } from '../ort.js';
import { loadLora, type LoraWeights } from '../lora/lora-weights.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import type { QuantizedLinears } from '../quant/quantized-weights.js';
import { QwenImagePipeline } from './pipeline.js';
import { parseTextEncoderConfig } from './text-encoder-config.js';
import { QwenTextEncoder } from './text-encoder-model.js';
import { parseTransformerConfig } from './transformer-config.js';
import { QwenTransformer, type TransformerLayout } from './transformer-model.js';
import { parseVaeConfig } from './vae-config.js';
import { QwenVae } from './vae-model.js';

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

export type SessionOptions = Omit<SessionConfig, 'externalDataFolder'>;

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
  const loras = await Promise.all(loraFiles.map((f) => (typeof f === 'string' ? loadLora(f, weights) : f)));
  const resolved = typeof layout === 'function' ? await layout(weights) : layout;
  return QwenTransformer.open(weights, config, session, loras, styleSlots, resolved);
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
  return QwenTextEncoder.open(weights, config, session, loras, await quantize?.(weights));
}

export async function openVae(dir: string, root: string, session: SessionOptions): Promise<QwenVae> {
  const config = parseVaeConfig(await readConfig(dir), join(dir, 'config.json'));
  const weights = await openWeightSet(dir, ['diffusion_pytorch_model'], root, 'VAE');
  return QwenVae.open(weights, config, session);
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
  return new QwenImagePipeline(textEncoder, transformer, vae);
}
