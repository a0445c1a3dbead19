// Turns the worker's image into a history entry: the recipe (with the hashes of every model and LoRA
// file), the image and thumbnail files with their embedded parameters, and the database row.

import { join } from 'node:path';
import { formatA1111Parameters } from '../../shared/a1111-parameters.js';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import type { GenerationRecord, ModelFileHash, Recipe, ResolvedRequest } from '../../shared/generation.js';
import { saveGeneratedImage, storageError } from '../images/save-image.js';
import type { DataLayout } from '../paths.js';
import type { RegisteredModel } from '../registry/model-registry.js';
import type { ResolvedLora } from '../registry/lora-registry.js';
import type { Db } from '../store/database.js';
import { cachedSha256 } from '../store/file-hashes.js';
import { insertGeneration } from '../store/generations.js';
import type { WorkerOutput } from '../worker-host/worker-supervisor.js';

export interface SaveContext {
  readonly db: Db;
  readonly layout: DataLayout;
  readonly appVersion: string;
}

export interface FinishedJob {
  readonly jobId: string;
  readonly request: ResolvedRequest;
  readonly model: RegisteredModel;
  readonly loras: readonly ResolvedLora[];
  readonly out: WorkerOutput;
  /** performance.now() when the job started running. */
  readonly startedAt: number;
  /** Image-to-image: where the input came from, its hash and the strength. */
  readonly initImage?: { readonly source: string; readonly sha256: string; readonly strength: number };
}

/**
 * The sha256 of a file the image was made with; a file that cannot be read names itself and the reason.
 * (Remembering the hash writes to the database: a failure there is the database's, told as such.)
 */
async function hashOf(ctx: SaveContext, file: string): Promise<{ sha256: string; bytes: number }> {
  try {
    return await cachedSha256(ctx.db, file);
  } catch (e) {
    if (String((e as { code?: unknown }).code).startsWith('SQLITE')) throw storageError(e, ctx.layout.database);
    throw new StudioError('storage-failed', notice('error.save.fileUnreadable', { file, message: e instanceof Error ? e.message : String(e) }), file);
  }
}

/** The recipe of a finished job, with the hashes of every model and LoRA file (cached after the first time). */
export async function recipeOf(ctx: SaveContext, job: FinishedJob): Promise<Recipe> {
  const modelHashes: ModelFileHash[] = [];
  for (const f of job.out.model.files) {
    // Hugging Face cache blobs carry their hash in their name; other files are hashed once and cached.
    const { sha256, bytes } = f.sha256 ? { sha256: f.sha256, bytes: f.bytes } : await hashOf(ctx, join(job.model.dir, f.path));
    modelHashes.push({ file: f.path, bytes, sha256 });
  }
  const r = job.request;
  return {
    prompt: r.prompt,
    negativePrompt: r.negativePrompt,
    seed: r.seed,
    steps: r.steps,
    guidance: r.guidance,
    width: r.width,
    height: r.height,
    modelId: job.model.id,
    modelName: job.out.model.name,
    modelHashes,
    loras: await Promise.all(job.loras.map(async (l) => ({ name: l.name, sha256: (await hashOf(ctx, l.file)).sha256, strength: l.strength, role: l.role }))),
    sampler: job.out.sampler,
    appVersion: ctx.appVersion,
    device: job.out.device,
    ...(job.out.precision ? { precision: job.out.precision } : {}),
    ...(job.initImage ? { initImage: job.initImage } : {}),
  };
}

/**
 * Saves a finished job. Each step fails with its own cause (a model or LoRA file that cannot be hashed,
 * an image that cannot be written, a database that refuses the row), never one blanket "could not write
 * studio.db". An image whose row cannot be written is kept: it carries its recipe, and losing the
 * picture to a database problem would be the worse failure.
 */
export async function saveGeneration(ctx: SaveContext, job: FinishedJob): Promise<GenerationRecord> {
  const saveStart = performance.now();
  const recipe = await recipeOf(ctx, job);
  const createdAt = new Date();
  const files = await saveGeneratedImage(ctx.layout.images, ctx.layout.thumbs, job.jobId, createdAt, job.out.image, job.request.format, formatA1111Parameters(recipe));
  const record: GenerationRecord = {
    id: job.jobId,
    createdAt: createdAt.getTime(),
    recipe,
    durations: { ...job.out.durations, saveMs: performance.now() - saveStart, totalMs: performance.now() - job.startedAt },
    format: job.request.format,
    ...files,
  };
  try {
    insertGeneration(ctx.db, record);
  } catch (e) {
    const cause = storageError(e, ctx.layout.database);
    throw new StudioError(cause.code, notice('error.save.notRecorded', { file: join(ctx.layout.images, files.imageFile), message: cause.message }), ctx.layout.database);
  }
  return record;
}
