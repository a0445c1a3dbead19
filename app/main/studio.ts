// The studio's core in the main process, independent of any host: it wires the job queue, the worker,
// the model and LoRA registries, the history, exports and downloads, and turns requests into jobs.

import { randomInt, randomUUID } from 'node:crypto';
import { basename, join } from 'node:path';
import type { AppInfo, ModelInfo } from '../shared/contract.js';
import { speedPresetFor } from '../shared/lora-presets.js';
import { demoFamily, familyById, type FamilyInfo } from '../shared/model-families.js';
import { loraFamilyProblem } from '../shared/lora-family.js';
import { ApiControl } from './api/api-control.js';
import { formatA1111Parameters } from '../shared/a1111-parameters.js';
import { MAX_SEED, validateGenerationRequest, type GenerationRecord, type OutputFormat, type Recipe, type ResolvedRequest, type SamplerSettings } from '../shared/generation.js';
import { StudioError } from '../shared/result.js';
import { CATALOG } from '../shared/catalog.js';
import type { JobProgress } from '../shared/progress.js';
import { previewDataUrl } from './images/preview-url.js';
import { checkModelFolderPath } from './registry/model-folder-path.js';
import { notice } from '../shared/notices.js';
import type { PlanReport } from '../shared/vram-plan.js';
import { PLAIN_FILE_URLS, type FileUrls } from './file-urls.js';
import { readInputImage } from './images/input-image.js';
import { HistoryService } from './history/history-service.js';
import { recipeOf, saveGeneration } from './history/save-generation.js';
import { encodeImage } from './images/save-image.js';
import { JobQueue, type Job } from './jobs/job-queue.js';
import { Downloads } from './library/downloads.js';
import { ExportService } from './library/export-service.js';
import { LoraLibrary } from './library/lora-library.js';
import { dataLayout, type DataLayout } from './paths.js';
import { LoraRegistry, type ResolvedLora } from './registry/lora-registry.js';
import { ModelRegistry, type RegisteredModel } from './registry/model-registry.js';
import type { Db } from './store/database.js';
import { openDataFolder } from './store/data-folder.js';
import type { SpawnWorker } from './worker-host/worker-handle.js';
import { WorkerSupervisor, type SupervisorOptions, type WorkerProgress } from './worker-host/worker-supervisor.js';

export type { FileUrls } from './file-urls.js';
export type { RegisteredModel } from './registry/model-registry.js';

export interface StudioOptions {
  readonly dataDir: string;
  readonly appVersion: string;
  readonly demoModelDir: string;
  readonly spawnWorker: SpawnWorker;
  readonly supervisor?: SupervisorOptions;
  /** Where hub endpoints (HF_ENDPOINT, MODELSCOPE_ENDPOINT) and caches are looked up; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

/** What a queued job carries besides its request. */
interface GenerationWork {
  readonly model: RegisteredModel;
  readonly loras: readonly ResolvedLora[];
  readonly sampler: SamplerSettings | undefined;
  /** False only for A1111 API requests that asked not to save, when the user chose not to keep those. */
  readonly keep: boolean;
}

/** How a job ended: saved in the history, or (A1111 API, not kept) only encoded for the client that asked. */
export type JobResult =
  | { readonly kept: true; readonly record: GenerationRecord }
  | { readonly kept: false; readonly jobId: string; readonly recipe: Recipe; readonly format: OutputFormat; readonly image: Buffer };

/** A registered model as the contract shows it (its folder as `path`, not the registry's `dir`). */
function modelInfo(m: RegisteredModel): ModelInfo {
  return { id: m.id, name: m.name, family: m.family, isDemo: m.isDemo, ...(m.origin ? { origin: m.origin } : {}), ...(m.path ? { path: m.path } : {}) };
}

export class Studio {
  readonly layout: DataLayout;
  readonly db: Db;
  readonly supervisor: WorkerSupervisor;
  readonly models: ModelRegistry;
  readonly loras: LoraRegistry;
  readonly history: HistoryService;
  readonly exports: ExportService;
  readonly downloads: Downloads;
  readonly jobs: JobQueue<GenerationWork, JobResult>;
  /** The AUTOMATIC1111-compatible API: not listening until a host or the command line starts it. */
  readonly api: ApiControl;
  /** What a killed run left half-written, removed when this one opened the data folder. */
  readonly swept: readonly string[];
  private readonly releaseDataFolder: () => void;
  private urls: FileUrls = PLAIN_FILE_URLS;

  constructor(private readonly options: StudioOptions) {
    this.layout = dataLayout(options.dataDir);
    const data = openDataFolder(this.layout);
    this.db = data.db;
    this.swept = data.swept;
    this.releaseDataFolder = data.release;
    const urls = () => this.urls;
    this.models = new ModelRegistry(options.demoModelDir, demoFamily(), join(this.layout.root, 'model-folders.json'));
    this.loras = new LoraRegistry(new LoraLibrary(join(this.layout.root, 'loras')), urls);
    this.history = new HistoryService(this.db, this.layout, urls);
    this.exports = new ExportService(join(this.layout.root, 'exports'), this.layout.images, this.history, urls);
    this.supervisor = new WorkerSupervisor(options.spawnWorker, options.supervisor);
    this.jobs = new JobQueue<GenerationWork, JobResult>({
      run: (job, onProgress) => this.runJob(job, onProgress),
      cancelRunning: (jobId) => this.supervisor.cancel(jobId),
      succeeded: (r) => (r.kept ? { type: 'succeeded', jobId: r.record.id, generation: this.history.summaryOf(r.record) } : { type: 'delivered', jobId: r.jobId }),
    });
    this.api = new ApiControl(this);
    this.downloads = new Downloads({
      modelsDir: this.modelsDir,
      ...(options.env ? { env: options.env } : {}),
      onInstalled: async (entry, dir, files) => {
        if (entry.kind === 'base') {
          const family = familyById(entry.family);
          if (entry.runnable && family) this.models.register(`local:${basename(dir)}`, dir, entry.title, family, 'download');
          return;
        }
        // A downloaded LoRA goes into the library, where the UI lists it with its preset. A speed LoRA whose
        // file name says nothing (pytorch_lora_weights.safetensors) is named after its catalog entry.
        for (const f of files.filter((f) => f.endsWith('.safetensors'))) {
          const named = entry.kind !== 'speed-lora' || speedPresetFor(basename(f), entry.family) !== undefined;
          await this.loras.import(f, named ? basename(f) : `${entry.id}.safetensors`);
        }
      },
    });
  }

  /** Where `studio pull` and the catalog's downloads put model folders. */
  get modelsDir(): string {
    return join(this.layout.root, 'models');
  }

  /** The host sets how file paths become URLs for its renderer. */
  setFileUrls(urls: FileUrls): void {
    this.urls = urls;
  }

  info(host: AppInfo['host']): AppInfo {
    return {
      version: this.options.appVersion,
      host,
      dataDir: this.layout.root,
      models: this.models.list().map(modelInfo),
      defaultModelId: 'demo',
    };
  }

  /** The worker's plan report for a model at a size: shown before the user generates. */
  async plan(modelId: string, width: number, height: number, loraIds: readonly string[] = []): Promise<PlanReport> {
    const model = this.models.get(modelId);
    const { loras } = this.loras.resolve(loraIds.map((id) => ({ id, strength: 1 })));
    return this.supervisor.plan(model.dir, width, height, loras.filter((l) => l.role === 'speed').map((l) => l.file));
  }

  /**
   * How a catalog model would run here before it is downloaded: the planner over its published sizes,
   * with its speed LoRA's side branch (bf16 in the file, float32 in the graph).
   */
  async planCatalog(entryId: string, width: number, height: number): Promise<PlanReport> {
    const entry = CATALOG.find((e) => e.id === entryId);
    if (!entry) throw new StudioError('not-found', notice('error.catalogUnknown', { id: entryId }), entryId);
    if (!entry.planSizes) throw new StudioError('not-found', notice('error.catalogNotPlannable', { title: entry.title }), entryId);
    const speed = CATALOG.find((e) => e.id === entry.speedEntryId);
    return this.supervisor.planForSizes(entry.planSizes, width, height, speed ? speed.approxBytes * 2 : 0);
  }

  /**
   * Adds a model folder the user already has. The worker opens it as it would for a job (so a folder that is
   * not a model, or an incomplete one, is refused with the reason) before it is listed and remembered.
   */
  async addModelFolder(path: string): Promise<ModelInfo> {
    const dir = await checkModelFolderPath(path);
    await this.supervisor.plan(dir, 512, 512);
    return modelInfo(await this.models.addFolder(dir));
  }

  /** Validates, resolves the model and LoRAs, fills in the seed, queues. Progress and the end arrive as job events. */
  submit(input: unknown): { jobId: string; request: ResolvedRequest; completion: Promise<GenerationRecord> } {
    const { jobId, request, completion } = this.deliver(input, { keep: true });
    const record = completion.then((r) => {
      if (!r.kept) throw new Error('a kept job ended without its record');
      return r.record;
    });
    // Hosts that follow events never await it: a cancelled job must not become an unhandled rejection.
    record.catch(() => undefined);
    return { jobId, request, completion: record };
  }

  /**
   * Queues a job like `submit`; with `keep: false` (an A1111 API request that asked not to save, when the
   * user does not keep those) the image is only encoded for the caller and nothing is written.
   */
  deliver(input: unknown, options: { readonly keep: boolean }): { jobId: string; request: ResolvedRequest; completion: Promise<JobResult> } {
    const v = validateGenerationRequest(input);
    if (!v.ok) {
      const first = v.problems[0]!;
      throw new StudioError('invalid-request', first.notice, v.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    }
    const model = this.models.get(v.value.modelId);
    const family = familyById(model.family);
    if (!family) throw new StudioError('model-unsupported', notice('error.modelUnknown', { id: model.id }), model.family);
    const { loras, preset } = this.loras.resolve(v.value.loras);
    if (preset && preset.family !== family.id) {
      const lora = loras.find((l) => l.role === 'speed');
      throw new StudioError(
        'invalid-request',
        notice('error.loraWrongFamily', { file: basename(lora?.file ?? preset.label), preset: preset.label, loraFamily: familyById(preset.family)?.title ?? preset.family, modelFamily: family.title }),
        lora?.file,
      );
    }
    // A style LoRA of another family would only fail in the worker (resolve keeps the request's order).
    v.value.loras.forEach((r, i) => {
      const architecture = this.loras.architectureOf(r.id);
      const lora = loras[i]!;
      const problem = architecture === undefined ? undefined : loraFamilyProblem({ name: lora.name, architecture }, model);
      if (problem) throw new StudioError('invalid-request', problem, lora.file);
    });
    checkInitImage(v.value, family);
    const request: ResolvedRequest = { ...v.value, seed: v.value.seed ?? randomInt(0, MAX_SEED + 1) };
    const jobId = randomUUID();
    const completion = this.jobs.enqueue({ jobId, request, work: { model, loras, sampler: preset?.sampler, keep: options.keep } });
    return { jobId, request, completion };
  }

  private async runJob(job: Job<GenerationWork>, onProgress: (p: JobProgress) => void): Promise<JobResult> {
    const startedAt = performance.now();
    const { model, loras, sampler, keep } = job.work;
    // Step previews are encoded as JPEG on the way out; the chain keeps events in the worker's order.
    let forwarded: Promise<void> = Promise.resolve();
    const forward = (p: WorkerProgress) => {
      forwarded = forwarded.then(async () => {
        const { preview, ...rest } = p;
        onProgress(preview ? { ...rest, preview: await previewDataUrl(preview).catch(() => undefined) } : rest);
      });
    };
    const init = await this.initImage(job.request);
    const out = await this.supervisor
      .run(
        {
          jobId: job.jobId,
          modelDir: model.dir,
          request: job.request,
          loras: loras.map(({ file, strength, role }) => ({ file, strength, role })),
          ...(sampler ? { sampler } : {}),
          ...(init ? { initImage: { width: init.image.width, height: init.image.height, rgb: init.image.rgb, strength: init.strength } } : {}),
        },
        forward,
      )
      .finally(() => forwarded);
    onProgress({ phase: 'saving', step: job.request.steps, totalSteps: job.request.steps });
    const ctx = { db: this.db, layout: this.layout, appVersion: this.options.appVersion };
    const finished = { jobId: job.jobId, request: job.request, model, loras, out, startedAt, ...(init ? { initImage: { source: init.source, sha256: init.image.sha256, strength: init.strength } } : {}) };
    if (keep) return { kept: true, record: await saveGeneration(ctx, finished) };
    const recipe = await recipeOf(ctx, finished);
    const image = await encodeImage(out.image, job.request.format, formatA1111Parameters(recipe));
    return { kept: false, jobId: job.jobId, recipe, format: job.request.format, image };
  }

  /** The request's input image, decoded and fitted to its size: a file, or an image of the history. */
  private async initImage(request: ResolvedRequest): Promise<{ image: Awaited<ReturnType<typeof readInputImage>>; source: string; strength: number } | undefined> {
    const init = request.initImage;
    if (!init) return undefined;
    const file = init.generationId ? this.history.imagePath(init.generationId) : init.path!;
    const source = init.generationId ?? basename(file);
    return { image: await readInputImage(file, request.width, request.height, source), source, strength: init.strength };
  }

  async close(): Promise<void> {
    await this.api.stop();
    this.jobs.close();
    await this.supervisor.stop();
    await this.history.close();
    this.db.close();
    this.releaseDataFolder();
  }
}

/** Image input only where the family takes it, and a strength that leaves at least one step to run. */
function checkInitImage(request: { readonly steps: number; readonly initImage?: { readonly strength: number } }, family: FamilyInfo): void {
  const init = request.initImage;
  if (!init) return;
  if (!family.imageInput) throw new StudioError('invalid-request', notice('error.imageInputUnsupported', { family: family.title }), 'initImage');
  if (Math.floor(request.steps * init.strength) < 1) {
    throw new StudioError('invalid-request', notice('error.strengthTooLow', { strength: init.strength, steps: request.steps }), 'initImage.strength');
  }
}
