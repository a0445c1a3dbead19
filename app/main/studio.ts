// The studio's core in the main process: job queue, worker, history and image files, independent of any host.

import { randomInt, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { AppInfo, ExportState, GenerationDetail, GenerationSummary, HistoryPage, HistoryQuery, ImportOutcome, JobEvent, LoraCard, ModelInfo } from '../shared/contract.js';
import { exportImages } from './library/export.js';
import { formatA1111Parameters } from '../shared/a1111-parameters.js';
import {
  MAX_SEED,
  validateGenerationRequest,
  type GenerationRecord,
  type ModelFileHash,
  type Recipe,
  type ResolvedRequest,
  type SamplerSettings,
} from '../shared/generation.js';
import { StudioError } from '../shared/result.js';
import { notice } from '../shared/notices.js';
import { speedPresetById, speedPresetFor, type SpeedPreset } from '../shared/lora-presets.js';
import { LoraLibrary, type LibraryLora } from './library/lora-library.js';
import type { WorkerLora } from '../shared/worker-protocol.js';
import { saveGeneratedImage, storageError } from './images/save-image.js';
import { listCachedModels } from './library/hub-cache.js';
import { Downloads } from './library/downloads.js';
import { dataLayout, type DataLayout } from './paths.js';
import { openDatabase, type Db } from './store/database.js';
import { cachedSha256 } from './store/file-hashes.js';
import { deleteGeneration, getGeneration, insertGeneration, isFavorite, listGenerations, setFavorite, type HistoryRow } from './store/generations.js';
import type { SpawnWorker } from './worker-host/worker-handle.js';
import type { PlanReport } from '../shared/vram-plan.js';
import { WorkerSupervisor, type SupervisorOptions, type WorkerOutput } from './worker-host/worker-supervisor.js';

export interface RegisteredModel extends ModelInfo {
  readonly dir: string;
}

export interface StudioOptions {
  readonly dataDir: string;
  readonly appVersion: string;
  readonly demoModelDir: string;
  readonly spawnWorker: SpawnWorker;
  readonly supervisor?: SupervisorOptions;
  /** Where hub endpoints (HF_ENDPOINT, MODELSCOPE_ENDPOINT) and caches are looked up; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

/** How a host turns stored files into URLs its renderer can load. */
export interface FileUrls {
  image(relativePath: string): string;
  thumb(relativePath: string): string;
  /** A file in the LoRA library (previews). */
  lora(relativePath: string): string;
  /** A finished export in the exports folder. */
  export(relativePath: string): string;
}

export interface RegisteredLora {
  readonly id: string;
  readonly file: string;
  /** What the user calls it (library folder name, or the file name). */
  readonly name: string;
  /** The speed preset it was recognised as, if any. */
  readonly presetId?: string;
}

interface QueuedJob {
  readonly jobId: string;
  readonly request: ResolvedRequest;
  readonly model: RegisteredModel;
  readonly loras: readonly (WorkerLora & { readonly name: string })[];
  readonly sampler: SamplerSettings | undefined;
  readonly done: (result: GenerationRecord | StudioError) => void;
}

export class Studio {
  readonly layout: DataLayout;
  readonly db: Db;
  readonly supervisor: WorkerSupervisor;
  private readonly models = new Map<string, RegisteredModel>();
  private readonly loraFiles = new Map<string, RegisteredLora>();
  readonly library: LoraLibrary;
  readonly downloads: Downloads;
  private libraryCards = new Map<string, LoraCard>();
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private readonly queue: QueuedJob[] = [];
  private active: QueuedJob | undefined;

  constructor(private readonly options: StudioOptions) {
    this.layout = dataLayout(options.dataDir);
    mkdirSync(this.layout.images, { recursive: true });
    mkdirSync(this.layout.thumbs, { recursive: true });
    this.db = openDatabase(this.layout.database);
    this.library = new LoraLibrary(join(this.layout.root, 'loras'));
    this.downloads = new Downloads({
      modelsDir: join(this.layout.root, 'models'),
      ...(options.env ? { env: options.env } : {}),
      onInstalled: async (entry, dir, files) => {
        if (entry.kind === 'base') {
          if (entry.runnable) this.registerModelFolder(`local:${basename(dir)}`, dir, entry.title);
          return;
        }
        // A downloaded LoRA goes into the library, where the UI lists it with its preset.
        for (const f of files.filter((f) => f.endsWith('.safetensors'))) await this.importLora(f);
      },
    });
    this.supervisor = new WorkerSupervisor(options.spawnWorker, options.supervisor);
    this.models.set('demo', {
      id: 'demo',
      name: 'Studio demo (tiny Qwen-Image, abstract)',
      family: 'qwen-image',
      isDemo: true,
      dir: options.demoModelDir,
    });
  }

  /** Makes a model folder available under an id (the CLI's --model; the library later). */
  registerModelFolder(id: string, dir: string, name = id): RegisteredModel {
    const model: RegisteredModel = { id, name, family: 'qwen-image', isDemo: false, dir };
    this.models.set(id, model);
    return model;
  }

  /**
   * Registers the Qwen-Image folders already on disk: in the Hugging Face cache (used in place) and in
   * the studio's own models folder (where `studio pull` puts them).
   */
  async discoverModels(env: NodeJS.ProcessEnv = process.env): Promise<RegisteredModel[]> {
    const found: RegisteredModel[] = [];
    const isQwen = async (dir: string) =>
      (await readFile(join(dir, 'model_index.json'), 'utf8').catch(() => '')).includes('"QwenImagePipeline"');
    for (const cached of await listCachedModels(env)) {
      if (await isQwen(cached.snapshot)) found.push(this.registerModelFolder(`hf:${cached.repo}`, cached.snapshot, `${cached.repo} (Hugging Face cache)`));
    }
    const own = join(this.layout.root, 'models');
    for (const name of await readdir(own).catch(() => [] as string[])) {
      if (await isQwen(join(own, name))) found.push(this.registerModelFolder(`local:${name}`, join(own, name), name.replace('--', '/')));
    }
    return found;
  }

  /** Loads the LoRA library so its entries can be used by id. */
  async loadLibrary(): Promise<readonly LoraCard[]> {
    for (const l of await this.library.list()) this.addLibraryLora(l);
    return this.loraCards();
  }

  private addLibraryLora(l: LibraryLora): LoraCard {
    this.registerLoraFile(l.id, l.file, l.name);
    const preset = l.report.preset ? speedPresetById(l.report.preset) : undefined;
    const card: LoraCard = {
      id: l.id,
      name: l.name,
      role: l.report.role,
      ...(preset ? { preset: { id: preset.id, label: preset.label, steps: preset.steps, guidance: preset.guidance } } : {}),
      architecture: l.report.architecture,
      runnable: l.report.runnable,
      rank: l.report.rank,
      triggerWords: l.report.triggerWords,
      ...(l.report.baseModel ? { baseModel: l.report.baseModel } : {}),
      ...(l.preview ? { previewUrl: this.urls.lora(relative(this.library.dir, l.preview)) } : {}),
    };
    this.libraryCards.set(l.id, card);
    return card;
  }

  loraCards(): LoraCard[] {
    return [...this.libraryCards.values()].sort((a, b) => a.role.localeCompare(b.role) || a.name.localeCompare(b.name));
  }

  /** Imports a file into the library; refusals come back as outcomes, not exceptions. */
  async importLora(file: string, displayName = basename(file)): Promise<ImportOutcome> {
    try {
      const { lora, duplicate } = await this.library.import(file, displayName);
      return { ok: true, file: displayName, lora: this.addLibraryLora(lora), duplicate };
    } catch (e) {
      if (e instanceof StudioError) return { ok: false, file: displayName, error: e.toJSON() };
      throw e;
    }
  }

  /** Makes a LoRA file available under an id (the CLI's --lora; library entries by their id). */
  registerLoraFile(id: string, file: string, name = basename(file)): RegisteredLora {
    const preset = speedPresetFor(name);
    const lora: RegisteredLora = { id, file, name, ...(preset ? { presetId: preset.id } : {}) };
    this.loraFiles.set(id, lora);
    return lora;
  }

  /** The LoRAs of a request as files with roles; a speed LoRA brings its sampler preset. */
  private resolveLoras(requested: readonly { id: string; strength: number }[]): { loras: QueuedJob['loras']; preset: SpeedPreset | undefined } {
    let preset: SpeedPreset | undefined;
    const loras = requested.map(({ id, strength }) => {
      const lora = this.loraFiles.get(id);
      if (!lora) throw new StudioError('not-found', `Unknown LoRA "${id}".`, id);
      const speed = lora.presetId ? speedPresetById(lora.presetId) : undefined;
      if (speed && preset) {
        throw new StudioError('invalid-request', `Two speed LoRAs at once (${preset.label} and ${speed.label}): choose one.`);
      }
      preset ??= speed;
      return { file: lora.file, strength, role: speed ? ('speed' as const) : ('style' as const), name: lora.name };
    });
    return { loras, preset };
  }

  info(host: AppInfo['host']): AppInfo {
    return {
      version: this.options.appVersion,
      host,
      dataDir: this.layout.root,
      models: [...this.models.values()].map(({ id, name, family, isDemo }) => ({ id, name, family, isDemo })),
      defaultModelId: 'demo',
    };
  }

  /** Subscribes to job events; returns the unsubscribe function. */
  onJobEvent(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: JobEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Validates, fills in the seed, queues. The record (or error) arrives through `completion` and events. */
  /** The worker's plan report for a model at a size: shown before the user generates. */
  async plan(modelId: string, width: number, height: number, loraIds: readonly string[] = []): Promise<PlanReport> {
    const model = this.models.get(modelId);
    if (!model) throw new StudioError('model-not-found', `Unknown model "${modelId}".`, modelId);
    const { loras } = this.resolveLoras(loraIds.map((id) => ({ id, strength: 1 })));
    return this.supervisor.plan(
      model.dir,
      width,
      height,
      loras.filter((l) => l.role === 'speed').map((l) => l.file),
    );
  }

  submit(input: unknown): { jobId: string; request: ResolvedRequest; completion: Promise<GenerationRecord> } {
    const v = validateGenerationRequest(input);
    if (!v.ok) {
      const first = v.problems[0]!;
      throw new StudioError('invalid-request', first.message, v.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    }
    const model = this.models.get(v.value.modelId);
    if (!model) throw new StudioError('model-not-found', `Unknown model "${v.value.modelId}".`, v.value.modelId);
    const { loras, preset } = this.resolveLoras(v.value.loras);
    const request: ResolvedRequest = { ...v.value, seed: v.value.seed ?? randomInt(0, MAX_SEED + 1) };
    const jobId = randomUUID();
    const completion = new Promise<GenerationRecord>((resolve, reject) => {
      this.queue.push({ jobId, request, model, loras, sampler: preset?.sampler, done: (r) => (r instanceof StudioError ? reject(r) : resolve(r)) });
    });
    // Callers that only follow events must not trip Node's unhandled-rejection handler.
    completion.catch(() => undefined);
    this.emit({ type: 'queued', jobId, request });
    void this.pump();
    return { jobId, request, completion };
  }

  cancel(jobId: string): boolean {
    const i = this.queue.findIndex((j) => j.jobId === jobId);
    if (i >= 0) {
      const [job] = this.queue.splice(i, 1);
      job!.done(new StudioError('cancelled', notice('error.cancelled')));
      this.emit({ type: 'cancelled', jobId });
      return true;
    }
    if (this.active?.jobId === jobId) {
      this.supervisor.cancel(jobId);
      return true;
    }
    return false;
  }

  private async pump(): Promise<void> {
    if (this.active) return;
    const job = this.queue.shift();
    if (!job) return;
    this.active = job;
    try {
      const record = await this.runJob(job);
      job.done(record);
      this.emit({ type: 'succeeded', jobId: job.jobId, generation: this.summaryOf(record) });
    } catch (e) {
      const err = e instanceof StudioError ? e : new StudioError('internal', (e as Error).message);
      job.done(err);
      if (err.code === 'cancelled') this.emit({ type: 'cancelled', jobId: job.jobId });
      else this.emit({ type: 'failed', jobId: job.jobId, error: err.toJSON() });
    } finally {
      this.active = undefined;
      void this.pump();
    }
  }

  private async runJob(job: QueuedJob): Promise<GenerationRecord> {
    const started = performance.now();
    const out = await this.supervisor.run(
      { jobId: job.jobId, modelDir: job.model.dir, request: job.request, loras: job.loras.map(({ file, strength, role }) => ({ file, strength, role })), ...(job.sampler ? { sampler: job.sampler } : {}) },
      (progress) =>
      this.emit({ type: 'progress', jobId: job.jobId, progress }),
    );
    this.emit({ type: 'progress', jobId: job.jobId, progress: { phase: 'saving', step: job.request.steps, totalSteps: job.request.steps } });
    try {
      return await this.saveJob(job, out, started);
    } catch (e) {
      throw storageError(e, this.layout.database);
    }
  }

  private async saveJob(job: QueuedJob, out: WorkerOutput, started: number): Promise<GenerationRecord> {
    const saveStart = performance.now();
    const modelHashes: ModelFileHash[] = [];
    for (const f of out.model.files) {
      // Hugging Face cache blobs carry their hash in their name; other files are hashed once and cached.
      const { sha256, bytes } = f.sha256 ? { sha256: f.sha256, bytes: f.bytes } : await cachedSha256(this.db, join(job.model.dir, f.path));
      modelHashes.push({ file: f.path, bytes, sha256 });
    }
    const r = job.request;
    const recipe: Recipe = {
      prompt: r.prompt,
      negativePrompt: r.negativePrompt,
      seed: r.seed,
      steps: r.steps,
      guidance: r.guidance,
      width: r.width,
      height: r.height,
      modelId: job.model.id,
      modelName: out.model.name,
      modelHashes,
      loras: await Promise.all(job.loras.map(async (l) => ({ name: l.name, sha256: (await cachedSha256(this.db, l.file)).sha256, strength: l.strength, role: l.role }))),
      sampler: out.sampler,
      appVersion: this.options.appVersion,
      device: out.device,
    };
    const createdAt = new Date();
    const files = await saveGeneratedImage(
      this.layout.images,
      this.layout.thumbs,
      job.jobId,
      createdAt,
      out.image,
      r.format,
      formatA1111Parameters(recipe),
    );
    const saveMs = performance.now() - saveStart;
    const record: GenerationRecord = {
      id: job.jobId,
      createdAt: createdAt.getTime(),
      recipe,
      durations: { ...out.durations, saveMs, totalMs: performance.now() - started },
      format: r.format,
      ...files,
    };
    try {
      insertGeneration(this.db, record);
    } catch (e) {
      // No record without its files, no files without their record.
      await Promise.all([rm(join(this.layout.images, files.imageFile), { force: true }), rm(join(this.layout.thumbs, files.thumbFile), { force: true })]);
      throw storageError(e, this.layout.database);
    }
    return record;
  }

  private urls: FileUrls = { image: (p) => p, thumb: (p) => p, lora: (p) => p, export: (p) => p };

  /** The host sets how file paths become URLs for its renderer. */
  setFileUrls(urls: FileUrls): void {
    this.urls = urls;
  }

  private readonly exportListeners = new Set<(e: ExportState) => void>();

  onExport(listener: (e: ExportState) => void): () => void {
    this.exportListeners.add(listener);
    return () => this.exportListeners.delete(listener);
  }

  /** Starts an export into the data folder's exports/; progress and the end arrive as export events. */
  startExport(selection: { ids?: readonly string[]; filters?: Omit<HistoryQuery, 'limit' | 'cursor'> }, kind: 'folder' | 'zip'): ExportState {
    const ids = selection.ids ? [...selection.ids] : this.matchingIds(selection.filters ?? {});
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `export-${stamp}${kind === 'zip' ? '.zip' : ''}`;
    const target = join(this.layout.root, 'exports', name);
    let state: ExportState = { id: randomUUID(), status: 'running', done: 0, total: ids.length, kind, target, ...(kind === 'zip' ? { url: this.urls.export(name) } : {}) };
    const emit = (patch: Partial<ExportState>) => {
      state = { ...state, ...patch };
      for (const l of this.exportListeners) l(state);
    };
    const db = this.db;
    const records = (function* () {
      for (const id of ids) {
        const g = getGeneration(db, id);
        if (g) yield g;
      }
    })();
    void mkdir(join(this.layout.root, 'exports'), { recursive: true })
      .then(() => exportImages({ records, total: ids.length, imagesDir: this.layout.images, kind, target, onProgress: (done) => emit({ done }) }))
      .then(
        (r) => emit({ status: 'done', done: r.count }),
        (e: unknown) => emit({ status: 'failed', error: storageError(e, target).toJSON() }),
      );
    return state;
  }

  private matchingIds(filters: Omit<HistoryQuery, 'limit' | 'cursor'>): string[] {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = listGenerations(this.db, { ...filters, limit: 500, ...(cursor ? { cursor } : {}) });
      ids.push(...page.rows.map((r) => r.id));
      if (!page.nextCursor) return ids;
      cursor = page.nextCursor;
    }
  }

  /** The absolute path of an image of the history. */
  imagePath(id: string): string {
    const g = getGeneration(this.db, id);
    if (!g) throw new StudioError('not-found', 'That image is not in the history any more.', id);
    return join(this.layout.images, g.imageFile);
  }

  setFavorite(id: string, favorite: boolean): { favorite: boolean } {
    if (!setFavorite(this.db, id, favorite)) throw new StudioError('not-found', 'That image is not in the history any more.', id);
    return { favorite };
  }

  /**
   * Removes an image from the history. `trash` (the Electron host's shell.trashItem) moves its file to the
   * system trash; without one the file is deleted, which the UI confirms with the user first.
   */
  async deleteGeneration(id: string, trash?: (file: string) => Promise<void>): Promise<{ deleted: boolean; trashed: boolean }> {
    const g = getGeneration(this.db, id);
    if (!g) return { deleted: false, trashed: false };
    const image = join(this.layout.images, g.imageFile);
    if (trash) await trash(image);
    else await rm(image, { force: true });
    await rm(join(this.layout.thumbs, g.thumbFile), { force: true });
    deleteGeneration(this.db, id);
    return { deleted: true, trashed: trash !== undefined };
  }

  summaryOf(g: GenerationRecord | HistoryRow): GenerationSummary {
    const favorite = 'favorite' in g ? g.favorite : false;
    const base =
      'recipe' in g
        ? { prompt: g.recipe.prompt, seed: g.recipe.seed, steps: g.recipe.steps, width: g.recipe.width, height: g.recipe.height, modelId: g.recipe.modelId }
        : { prompt: g.prompt, seed: g.seed, steps: g.steps, width: g.width, height: g.height, modelId: g.modelId };
    return { id: g.id, createdAt: g.createdAt, ...base, favorite, imageUrl: this.urls.image(g.imageFile), thumbUrl: this.urls.thumb(g.thumbFile) };
  }

  listHistory(q: HistoryQuery): HistoryPage {
    const { rows, nextCursor } = listGenerations(this.db, q);
    return { items: rows.map((r) => this.summaryOf(r)), nextCursor };
  }

  getHistoryItem(id: string): GenerationDetail {
    const g = getGeneration(this.db, id);
    if (!g) throw new StudioError('not-found', 'That image is not in the history any more.', id);
    return { ...g, favorite: isFavorite(this.db, id), imageUrl: this.urls.image(g.imageFile), thumbUrl: this.urls.thumb(g.thumbFile), parameters: formatA1111Parameters(g.recipe) };
  }

  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.done(new StudioError('cancelled', notice('error.shuttingDown')));
    await this.supervisor.stop();
    this.db.close();
  }
}
