// The typed protocol between the main process and the inference worker, validated on both sides.

import { z } from 'zod';
import { generationRequestSchema, seedSchema } from './generation.js';
import { JOB_PHASES } from './progress.js';
import { isNoticeKey, type Notice, type NoticeKey } from './notices.js';
import { ERROR_CODES } from './result.js';
import { samplerSchema } from './samplers.js';
import type { ComponentSizes, PlanReport } from './vram-plan.js';
import { PRECISIONS } from './precision.js';

const jobId = z.string().min(1).max(64);
/** A notice; a parameter may be a notice itself (a reason inside a sentence), a few levels deep. */
export const noticeSchema: z.ZodType<Notice> = z.lazy(() =>
  z.object({
    key: z.custom<NoticeKey>(isNoticeKey, 'unknown notice key'),
    params: z.record(z.string(), z.union([z.string(), z.number(), noticeSchema])).optional(),
  }),
);
const serializedError = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  detail: z.string().optional(),
  notice: noticeSchema,
});

export { samplerSchema } from './samplers.js';

export const workerLoraSchema = z.object({ file: z.string().min(1), strength: z.number(), role: z.enum(['speed', 'style']) });
export type WorkerLora = z.infer<typeof workerLoraSchema>;

export const toWorkerSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('generate'),
    seq: z.number().int(),
    jobId,
    modelDir: z.string().min(1),
    request: generationRequestSchema.and(z.object({ seed: seedSchema })),
    /** LoRA files resolved by the main process from the request's library ids. */
    loras: z.array(workerLoraSchema).default([]),
    /** Replaces the model folder's scheduler config (a speed LoRA's preset). */
    sampler: samplerSchema.optional(),
    /** Image-to-image: the input image, already decoded and fitted to the request's size by the main process. */
    initImage: z
      .object({ width: z.number().int().positive(), height: z.number().int().positive(), rgb: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes'), strength: z.number().gt(0).max(1) })
      .optional(),
  }),
  z.object({ type: z.literal('cancel'), seq: z.number().int(), jobId }),
  /** Asks for the plan report of a model at a size; answered by plan-report or plan-failed. */
  z.object({ type: z.literal('plan'), seq: z.number().int(), requestId: z.string().min(1).max(64), modelDir: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive(), speedLoraFiles: z.array(z.string().min(1)).max(4).default([]) }),
  /** Asks for the plan report of a model known only by its tensor sizes (a catalog entry not downloaded yet). */
  z.object({
    type: z.literal('plan-sizes'),
    seq: z.number().int(),
    requestId: z.string().min(1).max(64),
    sizes: z.custom<ComponentSizes>((v) => typeof v === 'object' && v !== null && 'blockBytes' in v, 'expected component sizes'),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** The speed LoRA's side branch as the graph holds it (float32 bytes). */
    loraBytes: z.number().nonnegative().default(0),
  }),
  z.object({ type: z.literal('shutdown'), seq: z.number().int() }),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes');

export const modelFileSchema = z.object({
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type ModelFile = z.infer<typeof modelFileSchema>;

export const fromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int(), device: z.string() }),
  z.object({
    type: z.literal('progress'),
    jobId,
    phase: z.enum(JOB_PHASES),
    step: z.number().int().nonnegative(),
    totalSteps: z.number().int().nonnegative(),
    note: noticeSchema.optional(),
    /** The latents so far as a small RGB image (a projection, no VAE): bytes, not numbers in JSON. */
    preview: z.object({ width: z.number().int().positive().max(256), height: z.number().int().positive().max(256), rgb: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes') }).optional(),
  }),
  z.object({
    type: z.literal('done'),
    jobId,
    image: z.object({ width: z.number().int().positive(), height: z.number().int().positive(), rgb: bytes }),
    model: z.object({ id: z.string(), name: z.string(), files: z.array(modelFileSchema) }),
    sampler: samplerSchema,
    device: z.string(),
    /** The precision the transformer computed in (after any non-finite fallback). */
    precision: z.enum(PRECISIONS).optional(),
    /** The plan that made the image (after any out-of-memory fallback). */
    plan: z.string(),
    durations: z.object({
      loadMs: z.number(),
      encodeMs: z.number(),
      denoiseMs: z.number(),
      decodeMs: z.number(),
    }),
  }),
  z.object({ type: z.literal('failed'), jobId, error: serializedError }),
  z.object({ type: z.literal('plan-report'), requestId: z.string(), report: z.custom<PlanReport>((v) => typeof v === 'object' && v !== null && 'plans' in v, 'expected a plan report') }),
  z.object({ type: z.literal('plan-failed'), requestId: z.string(), error: serializedError }),
  z.object({ type: z.literal('cancelled'), jobId }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;
