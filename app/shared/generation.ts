// What a generation request is, its limits, and the recipe recorded for every image.

import type { Precision } from './precision.js';
import { z } from 'zod';
import type { SamplerSettings } from './samplers.js';
import { isNoticeKey, notice, noticeText, type Notice, type NoticeKey, type NoticeParams } from './notices.js';

export const SIZE_STEP = 16;
export const MIN_SIDE = 256;
export const MAX_SIDE = 2048;
/** About 4.2 megapixels: 2048x2048. Larger images exceed what the model family was trained on. */
export const MAX_PIXELS = 2048 * 2048;
export const MIN_STEPS = 1;
export const MAX_STEPS = 50;
export const MAX_PROMPT_CHARS = 4000;
export const MAX_SEED = 0xffff_ffff;
export const MAX_GUIDANCE = 20;
/** Images one Generate press queues. */
export const MAX_BATCH = 16;

export interface SizePreset {
  readonly width: number;
  readonly height: number;
}

/** Size presets every family offers (each family lists its own in model-families.ts). */
export const SIZE_PRESETS: readonly SizePreset[] = [
  { width: 1024, height: 1024 },
  { width: 1328, height: 1328 },
  { width: 1664, height: 928 },
  { width: 928, height: 1664 },
  { width: 768, height: 768 },
  { width: 512, height: 512 },
];

export const OUTPUT_FORMATS = ['jpeg95', 'jpeg80', 'png'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

// Validation messages are notice keys: the renderer shows them in the user's language, next to the field.
function sideSchema(name: 'width' | 'height') {
  return z
    .number({ error: `validation.${name}Number` })
    .int(`validation.${name}Whole`)
    .min(MIN_SIDE, `validation.${name}Min`)
    .max(MAX_SIDE, `validation.${name}Max`)
    .refine((v) => v % SIZE_STEP === 0, { message: `validation.${name}Multiple` });
}

/**
 * A seed: a whole number from 0 to 2^32-1, the range the noise generator takes. Anything else is refused,
 * never wrapped into another seed; the range is checked first so that 1e20 is "too large", not "not whole".
 */
export const seedSchema = z
  .number({ error: 'validation.seedNumber' })
  .min(0, 'validation.seedNegative')
  .max(MAX_SEED, 'validation.seedMax')
  .int('validation.seedWhole');

/** A seed typed as text (CLI, a form): plain decimal digits only, so "0x10" or "1e3" is not read as another seed. */
export function parseSeed(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= MAX_SEED ? n : undefined;
}

/**
 * Image-to-image: the picture to start from, a file on the studio's machine (CLI, desktop app) or an image
 * of the history, and its strength: the share of the schedule that repaints it (1 = from pure noise).
 */
export const initImageSchema = z
  .object({
    path: z.string().min(1).max(4096).optional(),
    generationId: z.string().regex(/^[0-9a-f-]{36}$/, 'not a generation id').optional(),
    strength: z.number().gt(0, 'validation.strengthRange').max(1, 'validation.strengthRange'),
  })
  .strict()
  .refine((v) => (v.path === undefined) !== (v.generationId === undefined), { message: 'validation.initImageSource' });

/** A request as the user (UI or CLI) sends it; the seed is filled in by the main process when absent. */
export const generationRequestSchema = z
  .object({
    prompt: z
      .string()
      .max(MAX_PROMPT_CHARS, 'validation.promptLong')
      .refine((p) => p.trim().length > 0, { message: 'validation.promptEmpty' }),
    negativePrompt: z.string().max(MAX_PROMPT_CHARS, 'validation.negativeLong').default(''),
    seed: seedSchema.optional(),
    steps: z.number().int('validation.stepsWhole').min(MIN_STEPS, 'validation.stepsRange').max(MAX_STEPS, 'validation.stepsRange'),
    guidance: z.number().min(1, 'validation.guidanceMin').max(MAX_GUIDANCE, 'validation.guidanceMax').default(1),
    width: sideSchema('width'),
    height: sideSchema('height'),
    modelId: z.string().min(1).max(200).default('demo'),
    format: z.enum(OUTPUT_FORMATS).default('jpeg95'),
    /** LoRAs from the studio's library by id, each with its strength (1 = as trained). */
    loras: z
      .array(
        z
          .object({
            id: z.string().min(1).max(200),
            strength: z.number().min(-2, 'validation.loraStrength').max(2, 'validation.loraStrength'),
          })
          .strict(),
      )
      .max(8, 'validation.loraCount')
      .default([]),
    initImage: initImageSchema.optional(),
  })
  .strict()
  .refine((r) => r.width * r.height <= MAX_PIXELS, {
    message: 'validation.tooManyPixels',
    path: ['width'],
  });

export type GenerationRequestInput = z.input<typeof generationRequestSchema>;
export type GenerationRequest = z.output<typeof generationRequestSchema>;
/** A request whose seed has been decided: what the worker runs. */
export type ResolvedRequest = GenerationRequest & { readonly seed: number };

export interface ValidationProblem {
  readonly field: string;
  /** English text, for logs and the CLI. */
  readonly message: string;
  readonly notice: Notice;
}

/** The parameters of each validation notice: the limits the schema enforces. */
const VALIDATION_PARAMS: Partial<Record<NoticeKey, NoticeParams>> = {
  'validation.promptLong': { max: MAX_PROMPT_CHARS },
  'validation.negativeLong': { max: MAX_PROMPT_CHARS },
  'validation.seedMax': { max: MAX_SEED },
  'validation.stepsRange': { min: MIN_STEPS, max: MAX_STEPS },
  'validation.widthMin': { min: MIN_SIDE },
  'validation.widthMax': { max: MAX_SIDE },
  'validation.widthMultiple': { step: SIZE_STEP },
  'validation.heightMin': { min: MIN_SIDE },
  'validation.heightMax': { max: MAX_SIDE },
  'validation.heightMultiple': { step: SIZE_STEP },
  'validation.tooManyPixels': { max: MAX_PIXELS / 1_000_000 },
};

/** A schema problem as a notice: the studio's own messages are keys; anything else (a wrong type) is quoted. */
export function issueNotice(issue: { readonly message: string; readonly path: readonly PropertyKey[] } | undefined): Notice {
  if (!issue) return notice('validation.invalid', { field: 'request', problem: 'invalid' });
  if (isNoticeKey(issue.message)) return notice(issue.message, VALIDATION_PARAMS[issue.message]);
  return notice('validation.invalid', { field: issue.path.map(String).join('.') || 'request', problem: issue.message });
}

export function validateGenerationRequest(
  input: unknown,
): { ok: true; value: GenerationRequest } | { ok: false; problems: ValidationProblem[] } {
  const parsed = generationRequestSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => {
      const n = issueNotice(i);
      return { field: i.path.map(String).join('.') || 'request', message: noticeText(n), notice: n };
    }),
  };
}

/** Parses "1024x768" (also "1024×768"); undefined when it is not of that form. */
export function parseSize(text: string): SizePreset | undefined {
  const m = /^\s*(\d{1,5})\s*[x×X*]\s*(\d{1,5})\s*$/.exec(text);
  if (!m) return undefined;
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Sampler settings recorded with each image, enough to rerun the same schedule. */
export type { SamplerSettings } from './samplers.js';

export interface LoraUse {
  readonly name: string;
  readonly sha256: string;
  readonly strength: number;
  /** A speed LoRA (Lightning, Turbo) sets steps and sampler; style LoRAs change the look. */
  readonly role: 'speed' | 'style';
}

export interface ModelFileHash {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface GenerationDurations {
  /** Model loading and session creation, 0 when the model was already loaded. */
  readonly loadMs: number;
  readonly encodeMs: number;
  readonly denoiseMs: number;
  readonly decodeMs: number;
  readonly saveMs: number;
  readonly totalMs: number;
}

/** Everything needed to reproduce an image exactly, stored with it. */
export interface Recipe {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly guidance: number;
  readonly width: number;
  readonly height: number;
  readonly modelId: string;
  readonly modelName: string;
  readonly modelHashes: readonly ModelFileHash[];
  readonly loras: readonly LoraUse[];
  readonly sampler: SamplerSettings;
  readonly appVersion: string;
  readonly device: string;
  /** The precision the transformer computed in (f32, fp16, bf16); absent in records made before it was recorded. */
  readonly precision?: Precision;
  /** Image-to-image: the input image (file name or history id, its sha256) and the strength. */
  readonly initImage?: { readonly source: string; readonly sha256: string; readonly strength: number };
}

export interface GenerationRecord {
  readonly id: string;
  readonly createdAt: number;
  readonly recipe: Recipe;
  readonly durations: GenerationDurations;
  readonly format: OutputFormat;
  /** Path relative to the studio's images folder. */
  readonly imageFile: string;
  readonly thumbFile: string;
}
