// The one typed contract between the renderer and its host (Electron main or the browser host).

import { z } from 'zod';
import type { FamilyId } from './model-families.js';
import type { PlanReport } from './vram-plan.js';
import { MAX_SIDE, generationRequestSchema, type GenerationRecord, type ResolvedRequest } from './generation.js';
import type { Notice } from './notices.js';
import type { JobProgress } from './progress.js';
import type { Result, SerializedError } from './result.js';

export interface ModelInfo {
  readonly id: string;
  readonly name: string;
  /** The model family (see model-families.ts): its defaults, sizes and abilities. */
  readonly family: FamilyId;
  /** True for the small built-in model (untrained weights): its images are abstract, not real pictures. */
  readonly isDemo: boolean;
  /** Where the studio found it: built in, downloaded from the catalog, the Hugging Face cache, a folder the user named. */
  readonly origin?: 'demo' | 'download' | 'hf-cache' | 'folder';
  /** The folder, on the studio's machine (not for the demo). */
  readonly path?: string;
}

/** A job the queue holds: the running one first, then the waiting ones in the order they will run. */
export interface QueueItem {
  readonly jobId: string;
  readonly request: ResolvedRequest;
  readonly running: boolean;
}

export interface AppInfo {
  readonly version: string;
  readonly host: 'electron' | 'browser';
  readonly dataDir: string;
  readonly models: readonly ModelInfo[];
  readonly defaultModelId: string;
}

export interface GenerationSummary {
  readonly id: string;
  readonly createdAt: number;
  readonly prompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly width: number;
  readonly height: number;
  readonly modelId: string;
  readonly thumbUrl: string;
  readonly imageUrl: string;
  readonly favorite: boolean;
}

export interface GenerationDetail extends GenerationRecord {
  readonly thumbUrl: string;
  readonly imageUrl: string;
  readonly favorite: boolean;
  /** The A1111-style parameters text embedded in the image. */
  readonly parameters: string;
}

/** A LoRA of the library as the UI shows it. */
export interface LoraCard {
  readonly id: string;
  readonly name: string;
  /** The file's sha256: how a recipe's LoRA is found in the library again. */
  readonly sha256: string;
  readonly role: 'speed' | 'style';
  /** The speed preset it brings (e.g. lightning-4), with its step count. */
  readonly preset?: { readonly id: string; readonly label: string; readonly steps: number; readonly guidance: number };
  readonly architecture: string;
  /** False for LoRAs made for a model family the studio cannot run. */
  readonly runnable: boolean;
  readonly rank: number;
  readonly triggerWords: readonly string[];
  readonly baseModel?: string;
  readonly previewUrl?: string;
}

export type ImportOutcome =
  | { readonly ok: true; readonly file: string; readonly lora: LoraCard; readonly duplicate: boolean }
  | { readonly ok: false; readonly file: string; readonly error: SerializedError };

export type DownloadSource = 'huggingface' | 'mirror' | 'modelscope';

export interface CatalogItem {
  readonly id: string;
  readonly title: string;
  readonly kind: 'base' | 'speed-lora' | 'style-lora';
  readonly family: string;
  /** For a base model: the speed LoRA entry that pairs with it (few steps), when there is one. */
  readonly speedEntryId?: string;
  /** True when the planner can predict it before it is downloaded (`plan.catalog`). */
  readonly plannable: boolean;
  readonly runnable: boolean;
  readonly approxBytes: number;
  readonly installed: boolean;
  readonly sources: readonly DownloadSource[];
  readonly note?: Notice;
}

export interface DownloadProgress {
  readonly file: string;
  readonly fileBytes: number;
  readonly fileTotal: number;
  readonly bytes: number;
  readonly total: number;
  readonly speed: number;
  readonly etaSeconds: number | null;
}

export interface DownloadState {
  readonly id: string;
  readonly entryId: string;
  readonly title: string;
  readonly status: 'running' | 'paused' | 'done' | 'failed' | 'cancelled';
  readonly progress: DownloadProgress | null;
  readonly error?: SerializedError;
}

export interface ExportState {
  readonly id: string;
  readonly status: 'running' | 'done' | 'failed';
  readonly done: number;
  readonly total: number;
  readonly kind: 'folder' | 'zip';
  /** Where it went, on the studio's machine. */
  readonly target: string;
  /** A link the renderer can open to fetch a ZIP export. */
  readonly url?: string;
  readonly error?: SerializedError;
  /**
   * 0 in the export.start reply, one more with every event: a state with a lower revision than the one
   * shown is stale, whatever order the reply and the events arrived in (see app/shared/export-state.ts).
   */
  readonly revision: number;
  /** Images of the selection whose files were gone: left out of the export, which went on without them. */
  readonly skipped?: number;
  /** The first of those, by their path under the images folder. */
  readonly skippedFiles?: readonly string[];
}

/** The AUTOMATIC1111-compatible API (/sdapi/v1) as the settings show it. */
export interface A1111ApiState {
  /** The user's setting: serve the API whenever the studio runs. */
  readonly enabled: boolean;
  readonly port: number;
  /** Keep in the history the images of requests that say `save_images: false` (true: every image is kept). */
  readonly keepUnsavedImages: boolean;
  /** HTTP Basic credentials clients must send; empty: none (the API answers this machine only). */
  readonly username: string;
  readonly hasPassword: boolean;
  readonly running: boolean;
  /** The base URL to give Open WebUI, SillyTavern or a script, while running. */
  readonly url: string | null;
  /** Started by `studio serve --api`: the command line decides until the studio restarts. */
  readonly fromCommandLine: boolean;
  /** Why it is not running although enabled (a port in use). */
  readonly error?: SerializedError;
}

export interface HistoryPage {
  readonly items: readonly GenerationSummary[];
  /** Pass back as `cursor` for the next (older) page; null at the end. */
  readonly nextCursor: string | null;
}

const historyQuerySchema = z
  .object({
    search: z.string().max(500).optional(),
    modelId: z.string().max(200).optional(),
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    /** Images made with a LoRA of this name. */
    lora: z.string().max(200).optional(),
    /** Exactly this prompt: the seed history of one prompt. */
    prompt: z.string().max(4000).optional(),
    favorites: z.boolean().optional(),
    from: z.number().int().nonnegative().optional(),
    to: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(500).default(60),
    cursor: z.string().max(200).optional(),
  })
  .strict();

const idSchema = z.string().regex(/^[0-9a-f-]{36}$/, 'not a generation id');

/** Parameter validators, one per method; the host runs them on everything the renderer sends. */
export const invokeParamSchemas = {
  'app.info': z.object({}).strict(),
  'generate.start': generationRequestSchema,
  'generate.cancel': z.object({ jobId: idSchema }).strict(),
  'history.list': historyQuerySchema,
  /** How many images the search and filters match, exactly (the gallery's count). */
  'history.count': historyQuerySchema.omit({ limit: true, cursor: true }),
  'history.get': z.object({ id: idSchema }).strict(),
  'history.setFavorite': z.object({ id: idSchema, favorite: z.boolean() }).strict(),
  /** Moves the image to the system trash where the host can (Electron), else deletes it; the UI asks first. */
  'history.delete': z.object({ id: idSchema }).strict(),
  /** Exports the given images, or every image the filters match. */
  'export.start': z
    .object({
      /** The caller's name for this export (a UUID), so it knows the export before any of its events arrives. */
      id: idSchema.optional(),
      ids: z.array(idSchema).max(100_000).optional(),
      filters: historyQuerySchema.omit({ limit: true, cursor: true }).optional(),
      kind: z.enum(['folder', 'zip']),
    })
    .strict(),
  'catalog.list': z.object({}).strict(),
  /** How the model would run at this size on this device: every plan's predictions and the choice. */
  'plan.get': z
    .object({
      modelId: z.string().min(1).max(200),
      width: z.number().int().min(16).max(MAX_SIDE),
      height: z.number().int().min(16).max(MAX_SIDE),
      /** The LoRAs chosen so far: a speed LoRA's side branch counts with the transformer. */
      loras: z.array(z.string().min(1).max(200)).max(8).default([]),
    })
    .strict(),
  'downloads.start': z
    .object({ entryId: z.string().min(1).max(200), source: z.enum(['huggingface', 'mirror', 'modelscope']), mirror: z.string().url().max(500).optional() })
    .strict(),
  'downloads.control': z.object({ id: z.string().min(1).max(64), action: z.enum(['pause', 'resume', 'cancel']) }).strict(),
  'downloads.list': z.object({}).strict(),
  /** Shows the image in the system file manager (desktop app); the browser host answers with its path. */
  'history.reveal': z.object({ id: idSchema }).strict(),
  'library.loras': z.object({}).strict(),
  /** The job queue: the running job and the waiting ones (also sent as the `queue` event on every change). */
  'jobs.list': z.object({}).strict(),
  /** Adds a model folder the user already has (checked by the worker before it is listed; remembered). */
  'models.addFolder': z.object({ path: z.string().min(1).max(4096) }).strict(),
  /** Electron only: the system's folder picker; null when the user closes it. */
  'models.pickFolder': z.object({}).strict(),
  /** How a catalog model would run here before it is downloaded, from its published tensor sizes. */
  'plan.catalog': z.object({ entryId: z.string().min(1).max(200), width: z.number().int().min(16).max(MAX_SIDE), height: z.number().int().min(16).max(MAX_SIDE) }).strict(),
  /** Removes a LoRA from the library (images made with it keep their recipe). */
  'library.deleteLora': z.object({ id: z.string().min(1).max(200) }).strict(),
  /** Makes an image of the history the LoRA card's preview. */
  'library.setPreview': z.object({ id: z.string().min(1).max(200), generationId: idSchema }).strict(),
  /** Electron only: a file the user dropped, by path (the browser host takes uploads over HTTP instead). */
  'library.importLora': z.object({ path: z.string().min(1).max(4096) }).strict(),
  'a1111.get': z.object({}).strict(),
  /** Saves the API setting and starts, restarts or stops the API to match. A password left out stays as it was. */
  'a1111.configure': z
    .object({
      enabled: z.boolean(),
      port: z.number().int().min(1024).max(65535),
      keepUnsavedImages: z.boolean(),
      username: z.string().max(100).regex(/^[^:]*$/, 'The user name cannot contain a colon'),
      password: z.string().max(200).optional(),
    })
    .strict(),
} as const;

export type InvokeMethod = keyof typeof invokeParamSchemas;
export type InvokeParams<K extends InvokeMethod> = z.input<(typeof invokeParamSchemas)[K]>;
export type ValidParams<K extends InvokeMethod> = z.output<(typeof invokeParamSchemas)[K]>;
export type HistoryQuery = ValidParams<'history.list'>;

export interface InvokeResults {
  'app.info': AppInfo;
  'generate.start': { readonly jobId: string; readonly request: ResolvedRequest };
  'generate.cancel': { readonly cancelled: boolean };
  'history.list': HistoryPage;
  'history.count': { readonly count: number };
  'history.get': GenerationDetail;
  'history.setFavorite': { readonly favorite: boolean };
  'history.delete': { readonly deleted: boolean; readonly trashed: boolean };
  'export.start': ExportState;
  'plan.get': PlanReport;
  'catalog.list': { readonly items: readonly CatalogItem[]; readonly freeBytes: number; readonly modelsDir: string };
  'downloads.start': DownloadState;
  'downloads.control': DownloadState;
  'downloads.list': { readonly items: readonly DownloadState[] };
  'history.reveal': { readonly path: string; readonly shown: boolean };
  'library.loras': { readonly items: readonly LoraCard[] };
  'library.importLora': ImportOutcome;
  'jobs.list': { readonly items: readonly QueueItem[] };
  'models.addFolder': ModelInfo;
  'models.pickFolder': { readonly path: string | null };
  'plan.catalog': PlanReport;
  'library.deleteLora': { readonly deleted: boolean };
  'library.setPreview': LoraCard;
  'a1111.get': A1111ApiState;
  'a1111.configure': A1111ApiState;
}

export type JobEvent =
  | { readonly type: 'queued'; readonly jobId: string; readonly request: ResolvedRequest }
  | { readonly type: 'progress'; readonly jobId: string; readonly progress: JobProgress }
  | { readonly type: 'succeeded'; readonly jobId: string; readonly generation: GenerationSummary }
  /** Finished and handed to the A1111 API client that asked for it, not kept in the history (the user's choice). */
  | { readonly type: 'delivered'; readonly jobId: string }
  | { readonly type: 'failed'; readonly jobId: string; readonly error: SerializedError }
  | { readonly type: 'cancelled'; readonly jobId: string };

export interface EventPayloads {
  job: JobEvent;
  download: DownloadState;
  export: ExportState;
  /** The job queue after every change. */
  queue: { readonly items: readonly QueueItem[] };
}
export type EventName = keyof EventPayloads;
export const EVENT_NAMES: readonly EventName[] = ['job', 'download', 'export', 'queue'];

export function isInvokeMethod(name: unknown): name is InvokeMethod {
  return typeof name === 'string' && Object.hasOwn(invokeParamSchemas, name);
}

/** What the renderer sees: identical over Electron IPC and over the browser host's WebSocket. */
export interface StudioApi {
  invoke<K extends InvokeMethod>(method: K, params: InvokeParams<K>): Promise<Result<InvokeResults[K]>>;
  /** Returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void;
  /** Imports dropped LoRA files (DOM File objects) into the library, one outcome per file. */
  importLoras(files: readonly unknown[]): Promise<readonly ImportOutcome[]>;
}

/** Messages on the browser host's WebSocket. */
export type WireToHost = { readonly kind: 'invoke'; readonly id: number; readonly method: string; readonly params: unknown };
export type WireToRenderer =
  | { readonly kind: 'result'; readonly id: number; readonly result: Result<unknown> }
  | { readonly kind: 'event'; readonly name: EventName; readonly payload: unknown };

/** Electron IPC channel names: the only two the preload exposes. */
export { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from './ipc-channels.js';
