// The bundled catalog: what the studio knows how to run, where each piece lives on both hubs, how big it is.

import { notice, type Notice } from './notices.js';
import type { ComponentSizes } from './vram-plan.js';

export const CATALOG_VERSION = 1;

export type CatalogKind = 'base' | 'speed-lora' | 'style-lora';

export interface CatalogSource {
  readonly repo: string;
  readonly revision: string;
  /** Globs (relative paths) of the files the studio needs; everything else in the repo is skipped. */
  readonly include: readonly string[];
}

export interface CatalogEntry {
  readonly id: string;
  readonly title: string;
  readonly kind: CatalogKind;
  readonly family: 'qwen-image' | 'sdxl-turbo';
  /** False for families the engine cannot run yet. */
  readonly runnable: boolean;
  /** Approximate download size, for the UI before the file list is fetched. */
  readonly approxBytes: number;
  readonly huggingface?: CatalogSource;
  readonly modelscope?: CatalogSource;
  readonly note?: Notice;
  /** A base model's tensor sizes as published, so the planner can say how it would run before it is downloaded. */
  readonly planSizes?: ComponentSizes;
  /** A base model's few-step speed LoRA (an entry of this catalog). */
  readonly speedEntryId?: string;
}

const QWEN_FOLDERS = ['model_index.json', 'scheduler/*', 'text_encoder/*', 'tokenizer/*', 'transformer/*', 'vae/*'];
const GB = 1024 ** 3;

/**
 * Qwen-Image and Qwen-Image-2512 (one architecture), counted as the worker counts a folder (model-sizes.ts)
 * from the published shard headers in test-fixtures/full-size/qwen-image (catalog.test.ts checks it).
 */
export const QWEN_IMAGE_SIZES: ComponentSizes = {
  textEncoderBytes: 14_141_238_272,
  blockBytes: Array.from({ length: 60 }, () => 679_662_592),
  transformerOtherBytes: 81_046_656,
  vaeBytes: 146_591_206,
  bytesPerWeight: 2,
  width: 3072,
  heads: 24,
  headDim: 128,
  textLayers: 28,
  textWidth: 3584,
};

function both(repo: string, include: readonly string[], modelscopeRepo = repo): Pick<CatalogEntry, 'huggingface' | 'modelscope'> {
  return {
    huggingface: { repo, revision: 'main', include },
    modelscope: { repo: modelscopeRepo, revision: 'master', include },
  };
}

export const CATALOG: readonly CatalogEntry[] = [
  { id: 'qwen-image', title: 'Qwen-Image', kind: 'base', family: 'qwen-image', runnable: true, approxBytes: 57.7 * GB, ...both('Qwen/Qwen-Image', QWEN_FOLDERS), planSizes: QWEN_IMAGE_SIZES, speedEntryId: 'qwen-image-lightning-4step-v2.0' },
  { id: 'qwen-image-2512', title: 'Qwen-Image-2512', kind: 'base', family: 'qwen-image', runnable: true, approxBytes: 57.7 * GB, ...both('Qwen/Qwen-Image-2512', QWEN_FOLDERS), planSizes: QWEN_IMAGE_SIZES, speedEntryId: 'qwen-image-2512-turbo-4step' },
  ...(['4', '8'] as const).flatMap((steps) =>
    (['V1.0', 'V2.0'] as const).map<CatalogEntry>((v) => ({
      id: `qwen-image-lightning-${steps}step-${v.toLowerCase()}`,
      title: `Qwen-Image-Lightning ${steps}-step ${v}`,
      kind: 'speed-lora',
      family: 'qwen-image',
      runnable: true,
      approxBytes: 1.7 * GB,
      ...both('lightx2v/Qwen-Image-Lightning', [`Qwen-Image-Lightning-${steps}steps-${v}.safetensors`]),
    })),
  ),
  ...(['2', '4'] as const).map<CatalogEntry>((steps) => ({
    id: `qwen-image-2512-turbo-${steps}step`,
    title: `Qwen-Image-2512 Turbo ${steps}-step`,
    kind: 'speed-lora',
    family: 'qwen-image',
    runnable: true,
    approxBytes: 0.9 * GB,
    ...both('Wuli-art/Qwen-Image-2512-Turbo-LoRA', [`*${steps}steps*.safetensors`]),
    note: notice('catalog.for2512'),
  })),
  {
    id: 'sdxl-turbo',
    title: 'SDXL-Turbo',
    kind: 'base',
    family: 'sdxl-turbo',
    runnable: false,
    approxBytes: 7 * GB,
    ...both('stabilityai/sdxl-turbo', ['model_index.json', 'scheduler/*', 'text_encoder/*', 'text_encoder_2/*', 'tokenizer/*', 'tokenizer_2/*', 'unet/*.fp16.safetensors', 'unet/config.json', 'vae/*'], 'AI-ModelScope/sdxl-turbo'),
    note: notice('catalog.notRunnable'),
  },
];

/** Matches a repo-relative path against a glob with * (no slash) and ** (any depth). */
export function globMatch(glob: string, path: string): boolean {
  const re = glob
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${re}$`).test(path);
}

/** "org/name" or "org/name@revision". */
export function parseRepoSpec(spec: string): { repo: string; revision: string | undefined } | undefined {
  const m = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([\w./-]+))?$/.exec(spec);
  return m ? { repo: m[1]!, revision: m[2] } : undefined;
}
