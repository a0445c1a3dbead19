// The model-family registry's data: everything the studio (main process, contract, UI) knows about a
// family lives here, and nowhere else outside the worker's family folders. A family is recognised from a
// folder's model_index.json (its pipeline class) and brings its defaults, sizes, what it can do (image
// input, live mode), its speed LoRAs and their samplers, the LoRA architectures it runs, and its catalog
// entries. Adding a family: one entry here, one folder in app/worker and one line in app/worker/families.ts.

import { LCM_SAMPLER, TURBO_EULER_ANCESTRAL } from './discrete-samplers.js';
import { LIGHTNING_SAMPLER, QWEN_IMAGE_DEFAULT_SAMPLER } from './flow-match.js';
import { notice, type Notice } from './notices.js';
import type { SamplerSettings } from './samplers.js';
import type { ComponentSizes } from './vram-plan.js';

export const FAMILY_IDS = ['qwen-image', 'sdxl-turbo', 'sd-turbo'] as const;
export type FamilyId = (typeof FAMILY_IDS)[number];

export interface SizeChoice {
  readonly width: number;
  readonly height: number;
}

/** A speed LoRA recognised by its published file name: choosing it sets steps, guidance and sampler. */
export interface SpeedPreset {
  readonly id: string;
  readonly label: string;
  readonly family: FamilyId;
  readonly steps: number;
  /** Distilled models run without classifier-free guidance. */
  readonly guidance: number;
  readonly sampler: SamplerSettings;
  readonly pattern: RegExp;
}

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
  readonly family: FamilyId;
  /** False for entries the engine cannot run yet. */
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

export interface FamilyInfo {
  readonly id: FamilyId;
  /** How the UI names the family. */
  readonly title: string;
  /** model_index.json `_class_name` values of folders of this family. */
  readonly pipelineClasses: readonly string[];
  /** The component folders a model of this family needs (model_index.json names). */
  readonly components: readonly string[];
  /** The architectures LoRA inspection reports for LoRAs this family runs. */
  readonly loraArchitectures: readonly string[];
  /** What a new request starts from. */
  readonly defaults: { readonly width: number; readonly height: number; readonly steps: number; readonly guidance: number };
  readonly sizes: readonly SizeChoice[];
  /** Image-to-image: an input image and a strength. */
  readonly imageInput: boolean;
  /** Live mode (render while typing): the size and steps it uses, undefined to keep the user's. */
  readonly live?: { readonly width: number; readonly height: number; readonly steps: number };
  /** The sampler of the family's reference scheduler config (a folder's own config takes precedence). */
  readonly defaultSampler: SamplerSettings;
  readonly speedPresets: readonly SpeedPreset[];
  readonly catalog: readonly CatalogEntry[];
  /** The build generates a tiny untrained model of this family: the studio's offline demo. */
  readonly demo?: boolean;
}

const GB = 1024 ** 3;
const MB = 1024 ** 2;

function both(repo: string, include: readonly string[], modelscopeRepo = repo): Pick<CatalogEntry, 'huggingface' | 'modelscope'> {
  return {
    huggingface: { repo, revision: 'main', include },
    modelscope: { repo: modelscopeRepo, revision: 'master', include },
  };
}

const QWEN_FOLDERS = ['model_index.json', 'scheduler/*', 'text_encoder/*', 'tokenizer/*', 'transformer/*', 'vae/*'];

/**
 * Qwen-Image and Qwen-Image-2512 (one architecture), counted as the worker counts a folder (model-sizes.ts)
 * from the published shard headers in test-fixtures/full-size/qwen-image (catalog.test.ts checks it).
 */
export const QWEN_IMAGE_SIZES: ComponentSizes = {
  // img_mod and txt_mod (3072 -> 6 x 3072, with bias) of each block run once per timestep, in float32.
  denoiser: { label: 'transformer', modulationShare: (2 * 6 * 3072 * (3072 + 1) * 2) / 679_662_592 },
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

/** The fp16 variant files and configs only: half the download of the float32 defaults, same weights. */
function fp16Folders(components: readonly string[], tokenizers: readonly string[]): string[] {
  const weights = (c: string) => (c.startsWith('text_encoder') ? `${c}/model.fp16.safetensors` : `${c}/diffusion_pytorch_model.fp16.safetensors`);
  return ['model_index.json', 'scheduler/scheduler_config.json', ...components.flatMap((c) => [`${c}/config.json`, weights(c)]), ...tokenizers.map((t) => `${t}/*`)];
}

const SD_SIZES: readonly SizeChoice[] = [
  { width: 512, height: 512 },
  { width: 768, height: 768 },
  { width: 1024, height: 1024 },
  { width: 768, height: 512 },
  { width: 512, height: 768 },
];

export const FAMILIES: Readonly<Record<FamilyId, FamilyInfo>> = {
  'qwen-image': {
    id: 'qwen-image',
    title: 'Qwen-Image',
    pipelineClasses: ['QwenImagePipeline'],
    components: ['transformer', 'text_encoder', 'vae', 'tokenizer', 'scheduler'],
    loraArchitectures: ['qwen-image'],
    defaults: { width: 1024, height: 1024, steps: 4, guidance: 1 },
    sizes: [
      { width: 1024, height: 1024 },
      { width: 1328, height: 1328 },
      { width: 1664, height: 928 },
      { width: 928, height: 1664 },
      { width: 768, height: 768 },
      { width: 512, height: 512 },
    ],
    imageInput: false,
    demo: true,
    defaultSampler: QWEN_IMAGE_DEFAULT_SAMPLER,
    speedPresets: [
      // Qwen-Image-Lightning publishes its sampler configuration (shift fixed at ln 3, no terminal stretch);
      // the Qwen-Image-2512 Turbo LoRAs are used with the same flow-match Euler sampler.
      { id: 'lightning-8', label: 'Lightning 8-step', family: 'qwen-image', steps: 8, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /lightning.*8[-_ ]?steps?/i },
      { id: 'lightning-4', label: 'Lightning 4-step', family: 'qwen-image', steps: 4, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /lightning.*4[-_ ]?steps?/i },
      { id: 'turbo-2', label: 'Turbo 2-step', family: 'qwen-image', steps: 2, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /turbo.*2[-_ ]?steps?|2[-_ ]?steps?.*turbo/i },
      { id: 'turbo-4', label: 'Turbo 4-step', family: 'qwen-image', steps: 4, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /turbo.*4[-_ ]?steps?|4[-_ ]?steps?.*turbo|turbo/i },
    ],
    catalog: [
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
        note: notice('catalog.forModel', { model: 'Qwen-Image-2512' }),
      })),
    ],
  },
  'sdxl-turbo': {
    id: 'sdxl-turbo',
    title: 'SDXL-Turbo',
    pipelineClasses: ['StableDiffusionXLPipeline'],
    components: ['unet', 'text_encoder', 'text_encoder_2', 'vae', 'tokenizer', 'tokenizer_2', 'scheduler'],
    loraArchitectures: ['sdxl'],
    // Adversarial diffusion distillation: one step, no classifier-free guidance, trained at 512x512.
    defaults: { width: 512, height: 512, steps: 1, guidance: 1 },
    sizes: SD_SIZES,
    imageInput: true,
    live: { width: 512, height: 512, steps: 1 },
    defaultSampler: TURBO_EULER_ANCESTRAL,
    speedPresets: [{ id: 'lcm-sdxl', label: 'LCM-LoRA 4-step', family: 'sdxl-turbo', steps: 4, guidance: 1, sampler: LCM_SAMPLER, pattern: /lcm.*sdxl|sdxl.*lcm|lcm[-_ ]?lora/i }],
    catalog: [
      {
        id: 'sdxl-turbo',
        title: 'SDXL-Turbo',
        kind: 'base',
        family: 'sdxl-turbo',
        runnable: true,
        approxBytes: 6.9 * GB,
        ...both('stabilityai/sdxl-turbo', fp16Folders(['text_encoder', 'text_encoder_2', 'unet', 'vae'], ['tokenizer', 'tokenizer_2']), 'AI-ModelScope/sdxl-turbo'),
        note: notice('catalog.live', { steps: 1, size: '512x512' }),
      },
      {
        id: 'sdxl-base-1.0',
        title: 'SDXL 1.0 base',
        kind: 'base',
        family: 'sdxl-turbo',
        runnable: true,
        approxBytes: 6.9 * GB,
        ...both('stabilityai/stable-diffusion-xl-base-1.0', fp16Folders(['text_encoder', 'text_encoder_2', 'unet', 'vae'], ['tokenizer', 'tokenizer_2']), 'AI-ModelScope/stable-diffusion-xl-base-1.0'),
        speedEntryId: 'lcm-lora-sdxl',
        note: notice('catalog.withLora', { lora: 'LCM-LoRA SDXL', steps: 4 }),
      },
      {
        id: 'lcm-lora-sdxl',
        title: 'LCM-LoRA SDXL',
        kind: 'speed-lora',
        family: 'sdxl-turbo',
        runnable: true,
        approxBytes: 197 * MB,
        huggingface: { repo: 'latent-consistency/lcm-lora-sdxl', revision: 'main', include: ['pytorch_lora_weights.safetensors'] },
        note: notice('catalog.loraFor', { steps: 4, sampler: 'LCM', model: 'SDXL 1.0 base' }),
      },
    ],
  },
  'sd-turbo': {
    id: 'sd-turbo',
    title: 'SD-Turbo',
    pipelineClasses: ['StableDiffusionPipeline'],
    components: ['unet', 'text_encoder', 'vae', 'tokenizer', 'scheduler'],
    loraArchitectures: ['sd2'],
    defaults: { width: 512, height: 512, steps: 1, guidance: 1 },
    sizes: SD_SIZES,
    imageInput: true,
    live: { width: 512, height: 512, steps: 1 },
    defaultSampler: { ...TURBO_EULER_ANCESTRAL, name: 'euler' },
    speedPresets: [],
    catalog: [
      {
        id: 'sd-turbo',
        title: 'SD-Turbo',
        kind: 'base',
        family: 'sd-turbo',
        runnable: true,
        approxBytes: 2.6 * GB,
        ...both('stabilityai/sd-turbo', fp16Folders(['text_encoder', 'unet', 'vae'], ['tokenizer']), 'AI-ModelScope/sd-turbo'),
        note: notice('catalog.live', { steps: 1, size: '512x512' }),
      },
    ],
  },
};

export function familyById(id: string): FamilyInfo | undefined {
  return Object.hasOwn(FAMILIES, id) ? FAMILIES[id as FamilyId] : undefined;
}

/** The family of a diffusers folder, from model_index.json's `_class_name`. */
export function familyOfPipelineClass(className: unknown): FamilyInfo | undefined {
  return typeof className === 'string' ? Object.values(FAMILIES).find((f) => f.pipelineClasses.includes(className)) : undefined;
}

/** The family that runs LoRAs of an architecture LoRA inspection reported. */
export function familyOfLoraArchitecture(architecture: string): FamilyInfo | undefined {
  return Object.values(FAMILIES).find((f) => f.loraArchitectures.includes(architecture));
}

/** Every family's pipeline classes, for messages that list what the studio runs. */
export function knownPipelineClasses(): string[] {
  return Object.values(FAMILIES).flatMap((f) => f.pipelineClasses);
}

/**
 * What a request for a model of this family starts from: its size and steps, and in live mode (render
 * while typing) the family's live size and steps, so a turbo model answers each pause in typing at once.
 */
export function familyRequestDefaults(family: FamilyInfo | undefined, live = false): { width: number; height: number; steps: number; guidance: number } {
  const d = family?.defaults ?? { width: 1024, height: 1024, steps: 4, guidance: 1 };
  return live && family?.live ? { ...d, ...family.live } : d;
}

/** The family of the built-in demo model. */
export function demoFamily(): FamilyInfo {
  const f = Object.values(FAMILIES).find((x) => x.demo === true);
  if (!f) throw new Error('no family has a demo model');
  return f;
}

export const SPEED_PRESETS: readonly SpeedPreset[] = Object.values(FAMILIES).flatMap((f) => f.speedPresets);

/** How the UI names the base architectures LoRA inspection recognises. */
export const LORA_ARCHITECTURE_NAMES: Readonly<Record<string, string>> = {
  'qwen-image': 'Qwen-Image',
  sdxl: 'SDXL',
  sd2: 'Stable Diffusion 2.x',
  sd1: 'Stable Diffusion 1.x',
  flux: 'FLUX',
};

/** The families the studio runs, as a list for messages. */
export function familyTitles(): string {
  return Object.values(FAMILIES)
    .map((f) => f.title)
    .join(', ');
}

/** What LoRA inspection can tell from a file's keys (and the widths of its matrices). */
export interface LoraKeys {
  readonly names: readonly string[];
  /** [rows, cols] of each lora_down / lora_A matrix by key. */
  readonly downShape: (name: string) => readonly number[] | undefined;
}

/**
 * The base architecture a LoRA was made for, from its key names: the families' own (run by the studio)
 * and a few others recognised so the refusal can say what the file is. Order matters: the UNet and Qwen
 * markers are tested before the feed-forward names Flux and SD3 share with them.
 */
export function loraArchitectureOf(keys: LoraKeys): string {
  const any = (re: RegExp) => keys.names.some((k) => re.test(k));
  if (any(/double_blocks|single_blocks|single_transformer_blocks|ff_context/)) return 'flux';
  if (any(/transformer_blocks[._]\d+[._](img_mlp|txt_mlp|img_mod|txt_mod)/)) return 'qwen-image';
  if (any(/lora_te2_|text_encoder_2[._]|conditioner/)) return 'sdxl';
  if (any(/(input_blocks|output_blocks|middle_block|down_blocks|up_blocks|mid_block)[._]/)) {
    if (any(/lora_te1_/)) return 'sdxl';
    // SD 2.x cross-attends to 1024-wide OpenCLIP states, SD 1.x to 768-wide CLIP ones.
    const crossKey = keys.names.find((k) => /attn2[._]to_k[._]?(lora[._])?(lora_down|lora_A|down)[._]?(default[._])?weight$/.test(k));
    const width = crossKey ? keys.downShape(crossKey)?.[1] : undefined;
    return width === 1024 ? 'sd2' : width === 2048 ? 'sdxl' : 'sd1';
  }
  if (any(/transformer_blocks[._]\d+[._]attn/)) return 'qwen-image';
  if (any(/[._]ff[._]net/)) return 'flux';
  return 'unknown';
}
