// What the AUTOMATIC1111-compatible endpoints do, on the studio's parts: requests become jobs on the one
// job queue (behind the UI's), images land in the history with their recipes, and the answers have the
// shapes A1111's clients read (`images` as base64 PNGs, `info` as a JSON string).

import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatA1111Parameters, parseA1111Parameters } from '../../shared/a1111-parameters.js';
import { MAX_SEED, validateGenerationRequest, type GenerationRequestInput, type Recipe } from '../../shared/generation.js';
import { speedPresetById } from '../../shared/lora-presets.js';
import { FAMILIES } from '../../shared/model-families.js';
import { StudioError } from '../../shared/result.js';
import { HttpError } from '../host/routes.js';
import { readJpegUserComment } from '../images/jpeg-exif.js';
import { readPngText } from '../images/png-text.js';
import type { RegisteredModel } from '../registry/model-registry.js';
import type { JobResult, Studio } from '../studio.js';
import { familySampling, knownSampler, knownScheduler, samplerItems, schedulerItems } from './a1111-names.js';
import { a1111Timestamp, ProgressTracker, type Batch, type ProgressResponse } from './a1111-progress.js';
import { IMG2IMG_FIELDS, TXT2IMG_FIELDS, type Img2ImgRequest, type Txt2ImgRequest } from './a1111-schemas.js';
import { parsePromptLoras } from './prompt-loras.js';

/** More images than this in one request is refused: a batch this large is a mistake, not a wish. */
export const MAX_IMAGES_PER_REQUEST = 64;
/** When a request leaves them out: A1111's size, the studio's steps and guidance (or the speed LoRA's). */
const DEFAULT_SIZE = 512;
const DEFAULT_STEPS = 4;
const DEFAULT_CFG = 1;

export interface A1111ServiceOptions {
  readonly studio: Studio;
  /** The user's choice: keep in the history the images of requests that say save_images: false. */
  readonly keepUnsavedImages: () => boolean;
  /** The model A1111's `sd_model_checkpoint` option names, by studio id; set by POST /options. */
  readonly checkpoint: { get(): string | undefined; set(modelId: string): void };
}

/** A422 naming a body field, the way FastAPI reports a field. */
export function fieldError(field: readonly (string | number)[], msg: string, status = 422): HttpError {
  return new HttpError(status, `${field.join('.')}: ${msg}`, [{ loc: ['body', ...field], msg, type: 'value_error' }]);
}

/** A1111's default strength for img2img. */
const DEFAULT_DENOISING = 0.75;

export interface GenerationAnswer {
  readonly images: string[];
  readonly parameters: Record<string, unknown>;
  readonly info: string;
}

/** Where a studio field's problem lies in an A1111 request. */
function a1111Field(studioField: string | undefined): string[] {
  const head = (studioField ?? '').split('.')[0] ?? '';
  if (head === 'initImage') return studioField === 'initImage.strength' ? ['denoising_strength'] : ['init_images'];
  return (A1111_FIELD[head] ?? head).split('.');
}

/**
 * A StudioError becomes the HTTP answer A1111's clients can act on: a request the studio refuses is a 422
 * naming the field; the worker failing (a crash, an out-of-memory it could not fall back from) is a 500.
 */
function asHttpError(e: unknown): never {
  if (!(e instanceof StudioError)) throw e;
  if (e.code === 'invalid-request' || e.code === 'model-not-found' || e.code === 'model-unsupported' || e.code === 'not-found') {
    throw fieldError(a1111Field(e.detail), e.message);
  }
  throw new HttpError(e.code === 'worker-unavailable' ? 503 : 500, e.message);
}

/** A base64 image (optionally a data URL) as bytes, refused unless it is a PNG, JPEG or WebP. */
function decodeImage(encoded: string, field: readonly (string | number)[]): { bytes: Buffer } {
  const b64 = encoded.trim().replace(/^data:image\/[\w.+-]+;base64,/, '');
  const bytes = Buffer.from(b64, 'base64');
  const png = bytes.length > 8 && bytes[0] === 0x89 && bytes.toString('latin1', 1, 4) === 'PNG';
  const jpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  const webp = bytes.length > 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP';
  if (!png && !jpeg && !webp) throw fieldError(field, 'Invalid encoded image: expected a base64 PNG, JPEG or WebP');
  return { bytes };
}

/** An A1111 `sd-models` item for a studio model. */
interface SdModelItem {
  readonly title: string;
  readonly model_name: string;
  readonly hash: string | null;
  readonly sha256: string | null;
  readonly filename: string;
  readonly config: null;
}

/** A generation request's fields the studio reads, shared by txt2img and img2img. */
type GenerationBody = Txt2ImgRequest | Img2ImgRequest;

interface Planned {
  readonly model: RegisteredModel;
  /** img2img: the input files (image i of the batch starts from file i modulo their count) and the strength. */
  readonly init?: { readonly files: readonly string[]; readonly strength: number };
  readonly base: GenerationRequestInput & { readonly steps: number; readonly guidance: number; readonly width: number; readonly height: number };
  readonly seeds: readonly number[];
  readonly sampler: string;
  readonly keep: boolean;
  readonly sendImages: boolean;
}

/** Maps the studio's request fields onto the A1111 field a client sent. */
const A1111_FIELD: Readonly<Record<string, string>> = {
  prompt: 'prompt',
  negativePrompt: 'negative_prompt',
  seed: 'seed',
  steps: 'steps',
  guidance: 'cfg_scale',
  width: 'width',
  height: 'height',
  modelId: 'override_settings.sd_model_checkpoint',
  loras: 'prompt',
};

export class A1111Service {
  readonly progress = new ProgressTracker();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: A1111ServiceOptions) {
    this.unsubscribe = options.studio.jobs.onEvent((e) => this.progress.onJobEvent(e));
  }

  dispose(): void {
    this.unsubscribe();
  }

  private get studio(): Studio {
    return this.options.studio;
  }

  // --- models and options ---

  private sdModel(m: RegisteredModel): SdModelItem {
    return { title: m.name, model_name: m.id, hash: null, sha256: null, filename: m.dir, config: null };
  }

  sdModels(): SdModelItem[] {
    return this.studio.models.list().map((m) => this.sdModel(m));
  }

  /** A checkpoint as A1111 clients name it: its title, its model name, either with a " [hash]" suffix. */
  findModel(name: string): RegisteredModel | undefined {
    const bare = name.replace(/\s*\[[0-9a-f]{8,64}\]$/i, '').trim();
    const all = this.studio.models.list();
    return all.find((m) => m.name === bare || m.id === bare) ?? all.find((m) => m.name.toLowerCase() === bare.toLowerCase() || m.id.toLowerCase() === bare.toLowerCase());
  }

  currentModel(): RegisteredModel {
    const id = this.options.checkpoint.get();
    const chosen = id === undefined ? undefined : this.studio.models.list().find((m) => m.id === id);
    return chosen ?? this.studio.models.get(this.studio.info('browser').defaultModelId);
  }

  getOptions(): Record<string, unknown> {
    const model = this.currentModel();
    return {
      sd_model_checkpoint: model.name,
      sd_checkpoint_hash: null,
      sd_vae: 'Automatic',
      CLIP_stop_at_last_layers: 1,
      samples_format: 'png',
      eta_noise_seed_delta: 0,
      // The studio's own setting, readable by scripts: whether save_images: false is honoured.
      studio_keep_unsaved_api_images: this.options.keepUnsavedImages(),
    };
  }

  /** Applies the options the studio has (sd_model_checkpoint); others are ignored, as A1111 ignores unknown ones. */
  setOptions(body: Readonly<Record<string, unknown>>): null {
    const name = body.sd_model_checkpoint;
    if (name === undefined || name === null) return null;
    if (typeof name !== 'string') throw fieldError(['sd_model_checkpoint'], 'Input should be a valid string');
    const model = this.findModel(name);
    if (!model) throw fieldError(['sd_model_checkpoint'], `no checkpoint named "${name}"; GET /sdapi/v1/sd-models lists them`);
    this.options.checkpoint.set(model.id);
    return null;
  }

  samplers() {
    return samplerItems([...new Set(this.studio.models.list().map((m) => m.family))]);
  }

  schedulers() {
    return schedulerItems([...new Set(this.studio.models.list().map((m) => m.family))]);
  }

  loras() {
    return this.studio.loras.entries().map((l) => ({ name: l.name, alias: l.name, path: l.file, metadata: {} }));
  }

  async refreshLoras(): Promise<null> {
    await this.studio.loras.load();
    return null;
  }

  async refreshCheckpoints(): Promise<null> {
    await this.studio.models.discover(this.studio.modelsDir);
    return null;
  }

  // --- progress and interrupt ---

  getProgress(skipCurrentImage: boolean): ProgressResponse {
    return this.progress.report(skipCurrentImage);
  }

  /** Stops the API request whose image is being made (the UI's own jobs are the UI's to cancel). */
  interrupt(): Record<string, never> {
    const batch = this.progress.runningBatch();
    if (batch) this.cancelBatch(batch);
    return {};
  }

  /** Skips the image being made; the rest of its request goes on. */
  skip(): Record<string, never> {
    const jobId = this.progress.runningJobId();
    if (jobId !== undefined && this.progress.runningBatch()) this.studio.jobs.cancel(jobId);
    return {};
  }

  private cancelBatch(batch: Batch): void {
    batch.interrupted = true;
    // Waiting ones first, so none of them starts when the running one stops.
    for (const id of [...batch.jobIds].reverse()) this.studio.jobs.cancel(id);
  }

  // --- generation ---

  private plan(body: GenerationBody, init?: Planned['init']): Planned {
    if ('enable_hr' in body && body.enable_hr === true) {
      throw fieldError(['enable_hr'], 'the studio has no hires fix; ask for the final width and height instead');
    }
    if (body.script_name) throw fieldError(['script_name'], `Script '${body.script_name}' not found`);
    for (const name of Object.keys(body.alwayson_scripts ?? {})) throw fieldError(['alwayson_scripts', name], `always on script ${name} not found`);

    const checkpoint = body.override_settings?.sd_model_checkpoint;
    let model = this.currentModel();
    if (checkpoint !== undefined && checkpoint !== null) {
      if (typeof checkpoint !== 'string') throw fieldError(['override_settings', 'sd_model_checkpoint'], 'Input should be a valid string');
      const found = this.findModel(checkpoint);
      if (!found) throw fieldError(['override_settings', 'sd_model_checkpoint'], `no checkpoint named "${checkpoint}"; GET /sdapi/v1/sd-models lists them`);
      model = found;
    }

    const sampling = familySampling(model.family);
    const family = FAMILIES[model.family];
    if (init && !family.imageInput) {
      throw fieldError(['init_images'], `${model.name} is a ${family.title} model, which cannot start from an image; choose a model that can (override_settings.sd_model_checkpoint)`);
    }
    const samplerName = body.sampler_name || body.sampler_index;
    if (samplerName && !knownSampler(samplerName)) {
      throw new HttpError(404, `Sampler not found: "${samplerName}". GET /sdapi/v1/samplers lists what the studio runs.`);
    }
    if (body.scheduler && !knownScheduler(body.scheduler)) {
      throw fieldError(['scheduler'], `Scheduler not found: "${body.scheduler}". GET /sdapi/v1/schedulers lists what the studio runs.`);
    }

    let prompt = body.prompt;
    const loras: { id: string; strength: number }[] = [];
    let presetSteps: number | undefined;
    let presetGuidance: number | undefined;
    if (body.disable_extra_networks !== true) {
      const parsed = parsePromptLoras(body.prompt);
      if (!parsed.ok) throw fieldError(['prompt'], parsed.message);
      prompt = parsed.prompt;
      for (const l of parsed.loras) {
        const found = this.studio.loras.findByName(l.name);
        if (!found) throw fieldError(['prompt'], `${l.tag}: no LoRA named "${l.name}" in the studio's library; GET /sdapi/v1/loras lists them`);
        loras.push({ id: found.id, strength: l.strength });
        const preset = found.presetId ? speedPresetById(found.presetId) : undefined;
        if (preset) {
          presetSteps = preset.steps;
          presetGuidance = preset.guidance;
        }
      }
    }

    const batchSize = body.batch_size ?? 1;
    const iterations = body.n_iter ?? 1;
    const count = batchSize * iterations;
    if (count > MAX_IMAGES_PER_REQUEST) throw fieldError(['batch_size'], `batch_size × n_iter is ${count}; at most ${MAX_IMAGES_PER_REQUEST} images per request`);

    const requested = body.seed ?? -1;
    if (requested < -1 || requested > MAX_SEED) throw fieldError(['seed'], `-1 picks a random seed; other seeds are 0 to ${MAX_SEED}`);
    if (requested !== -1 && requested + count - 1 > MAX_SEED) throw fieldError(['seed'], `seed + ${count - 1} (one per image) passes ${MAX_SEED}`);
    const first = requested === -1 ? randomInt(0, MAX_SEED - count + 2) : requested;
    const seeds = Array.from({ length: count }, (_, i) => first + i);

    const base = {
      prompt,
      negativePrompt: body.negative_prompt ?? '',
      steps: body.steps ?? presetSteps ?? DEFAULT_STEPS,
      guidance: body.cfg_scale ?? presetGuidance ?? DEFAULT_CFG,
      width: body.width ?? DEFAULT_SIZE,
      height: body.height ?? DEFAULT_SIZE,
      modelId: model.id,
      format: 'png' as const,
      loras,
    };
    // Checked once for the whole batch, so a bad request queues nothing.
    const v = validateGenerationRequest({ ...base, seed: first, ...(init ? { initImage: { path: init.files[0]!, strength: init.strength } } : {}) });
    if (!v.ok) {
      throw new HttpError(
        422,
        v.problems.map((p) => `${a1111Field(p.field).join('.')}: ${p.message}`).join('; '),
        v.problems.map((p) => ({ loc: ['body', ...a1111Field(p.field)], msg: p.message, type: 'value_error' })),
      );
    }
    return {
      model,
      ...(init ? { init } : {}),
      base,
      seeds,
      sampler: sampling.sampler,
      keep: body.save_images === true || this.options.keepUnsavedImages(),
      sendImages: body.send_images !== false,
    };
  }

  /** The PNG an API client receives: the saved file, or the image encoded for it alone. */
  private async imageOf(r: JobResult): Promise<{ png: Buffer; recipe: Recipe }> {
    if (!r.kept) return { png: r.image, recipe: r.recipe };
    return { png: await readFile(join(this.studio.layout.images, r.record.imageFile)), recipe: r.record.recipe };
  }

  private async run(plan: Planned, signal: AbortSignal): Promise<{ images: Buffer[]; recipes: Recipe[]; interrupted: boolean }> {
    const jobs: { jobId: string; completion: Promise<JobResult> }[] = [];
    try {
      plan.seeds.forEach((seed, i) => {
        const initImage = plan.init ? { initImage: { path: plan.init.files[i % plan.init.files.length]!, strength: plan.init.strength } } : {};
        jobs.push(this.studio.deliver({ ...plan.base, seed, ...initImage }, { keep: plan.keep }));
      });
    } catch (e) {
      for (const j of jobs) this.studio.jobs.cancel(j.jobId);
      if (plan.init) void Promise.allSettled(jobs.map((j) => j.completion)).then(() => Promise.all(plan.init!.files.map((f) => rm(f, { force: true }))));
      throw e;
    }
    if (plan.init) {
      // The input files go once every job that reads them has ended (a cancelled one may still be starting).
      const files = plan.init.files;
      void Promise.allSettled(jobs.map((j) => j.completion)).then(() => Promise.all(files.map((f) => rm(f, { force: true }))));
    }
    const batch: Batch = { jobIds: jobs.map((j) => j.jobId), startedAt: Date.now(), timestamp: a1111Timestamp(new Date()), done: 0, interrupted: false, lastImage: undefined };
    this.progress.add(batch);
    // A client that goes away takes its request with it.
    const onAbort = () => this.cancelBatch(batch);
    signal.addEventListener('abort', onAbort);
    const images: Buffer[] = [];
    const recipes: Recipe[] = [];
    try {
      for (const j of jobs) {
        let result: JobResult;
        try {
          result = await j.completion;
        } catch (e) {
          if (e instanceof StudioError && e.code === 'cancelled') {
            // Skipped images leave a gap; an interrupt ends the request with what is done.
            if (batch.interrupted) break;
            continue;
          }
          this.cancelBatch(batch);
          throw e;
        }
        const { png, recipe } = await this.imageOf(result);
        images.push(png);
        recipes.push(recipe);
        batch.done++;
        batch.lastImage = png;
      }
      return { images, recipes, interrupted: batch.interrupted };
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.progress.remove(batch);
    }
  }

  private info(body: GenerationBody, plan: Planned, recipes: readonly Recipe[], timestamp: string, denoisingStrength: number | null): string {
    const sampling = familySampling(plan.model.family);
    const count = recipes.length;
    const negative = body.negative_prompt ?? '';
    const loraHashes = recipes[0]?.loras.map((l) => `${l.name}: ${l.sha256.slice(0, 12)}`).join(', ');
    return JSON.stringify({
      prompt: body.prompt,
      all_prompts: Array<string>(count).fill(body.prompt),
      negative_prompt: negative,
      all_negative_prompts: Array<string>(count).fill(negative),
      seed: recipes[0]?.seed ?? plan.seeds[0],
      all_seeds: recipes.map((r) => r.seed),
      subseed: -1,
      all_subseeds: Array<number>(count).fill(-1),
      subseed_strength: 0,
      width: plan.base.width,
      height: plan.base.height,
      sampler_name: plan.sampler,
      cfg_scale: plan.base.guidance,
      steps: plan.base.steps,
      batch_size: body.batch_size ?? 1,
      restore_faces: false,
      face_restoration_model: null,
      sd_model_name: plan.model.id,
      sd_model_hash: recipes[0]?.modelHashes[0]?.sha256.slice(0, 10) ?? null,
      sd_vae_name: null,
      sd_vae_hash: null,
      seed_resize_from_w: -1,
      seed_resize_from_h: -1,
      denoising_strength: denoisingStrength,
      extra_generation_params: { 'Schedule type': sampling.label, ...(loraHashes ? { 'Lora hashes': loraHashes } : {}) },
      index_of_first_image: 0,
      infotexts: recipes.map((r) => formatA1111Parameters(r)),
      styles: body.styles ?? [],
      job_timestamp: timestamp,
      clip_skip: 1,
      is_using_inpainting_conditioning: false,
      version: `studio ${this.studio.info('browser').version}`,
    });
  }

  /** The request's A1111 fields as it sent them, with the values the studio used where it left them out. */
  private parameters(body: GenerationBody, plan: Planned, fields: readonly string[]): Record<string, unknown> {
    const sent = body as Readonly<Record<string, unknown>>;
    const echo: Record<string, unknown> = {};
    for (const f of fields) if (sent[f] !== undefined) echo[f] = sent[f];
    return {
      negative_prompt: '',
      seed: -1,
      batch_size: 1,
      n_iter: 1,
      steps: plan.base.steps,
      cfg_scale: plan.base.guidance,
      width: plan.base.width,
      height: plan.base.height,
      sampler_name: plan.sampler,
      send_images: true,
      save_images: false,
      ...echo,
    };
  }

  async txt2img(body: Txt2ImgRequest, signal: AbortSignal): Promise<GenerationAnswer | undefined> {
    const plan = this.plan(body);
    const timestamp = a1111Timestamp(new Date());
    const { images, recipes } = await this.run(plan, signal).catch(asHttpError);
    if (signal.aborted) return undefined;
    return {
      images: plan.sendImages ? images.map((b) => b.toString('base64')) : [],
      parameters: this.parameters(body, plan, TXT2IMG_FIELDS),
      info: this.info(body, plan, recipes, timestamp, null),
    };
  }

  /**
   * Image to image, for model families that start from an image (the family registry says which): each
   * input is written to the data folder's uploads/ for its jobs to read, and removed after them.
   */
  async img2img(body: Img2ImgRequest, signal: AbortSignal): Promise<GenerationAnswer | undefined> {
    if (body.mask) throw fieldError(['mask'], 'the studio has no inpainting; send the image without a mask');
    const inputs = body.init_images ?? [];
    if (inputs.length === 0) throw fieldError(['init_images'], 'Field required: the image to start from, as base64');
    const strength = body.denoising_strength ?? DEFAULT_DENOISING;
    const decoded = inputs.map((b64, i) => decodeImage(b64, ['init_images', i]));
    // Refused before anything is written: the model, the sampler, the sizes, the strength, the family.
    this.plan(body, { files: decoded.map(() => 'input.png'), strength });
    const uploads = join(this.studio.layout.root, 'uploads');
    await mkdir(uploads, { recursive: true });
    const files: string[] = [];
    for (const { bytes } of decoded) {
      // The recipe names the input by this file name; `.upload` lets a later start sweep it if this run is killed.
      const file = join(uploads, `a1111-input-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}-${randomBytes(3).toString('hex')}.upload`);
      await writeFile(file, bytes);
      files.push(file);
    }
    let plan: Planned;
    try {
      plan = this.plan(body, { files, strength });
    } catch (e) {
      await Promise.all(files.map((f) => rm(f, { force: true })));
      throw e;
    }
    const timestamp = a1111Timestamp(new Date());
    const { images, recipes } = await this.run(plan, signal).catch(asHttpError);
    if (signal.aborted) return undefined;
    const parameters = this.parameters(body, plan, IMG2IMG_FIELDS);
    // As A1111: the inputs are echoed only when asked for.
    if (body.include_init_images !== true) Object.assign(parameters, { init_images: null, mask: null });
    return {
      images: plan.sendImages ? images.map((b) => b.toString('base64')) : [],
      parameters: { denoising_strength: strength, ...parameters },
      info: this.info(body, plan, recipes, timestamp, strength),
    };
  }

  // --- png-info ---

  pngInfo(image: string): { info: string; items: Record<string, string>; parameters: Record<string, string> } {
    const encoded = image.trim().replace(/^data:image\/[\w.+-]+;base64,/, '');
    const bytes = Buffer.from(encoded, 'base64');
    if (encoded.length === 0 || bytes.length < 8) throw fieldError(['image'], 'Invalid encoded image');
    let info: string;
    let items: Record<string, string> = {};
    if (bytes[0] === 0x89 && bytes.toString('latin1', 1, 4) === 'PNG') {
      let chunks: Record<string, string>;
      try {
        chunks = readPngText(bytes);
      } catch {
        throw fieldError(['image'], 'Invalid encoded image');
      }
      info = chunks.parameters ?? '';
      items = Object.fromEntries(Object.entries(chunks).filter(([k]) => k !== 'parameters'));
    } else if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      info = readJpegUserComment(bytes) ?? '';
    } else {
      throw fieldError(['image'], 'Invalid encoded image: expected a PNG or JPEG');
    }
    if (info === '') return { info, items, parameters: {} };
    const parsed = parseA1111Parameters(info);
    const size = /^(\d+)x(\d+)$/.exec(parsed.settings.Size ?? '');
    return {
      info,
      items,
      parameters: {
        Prompt: parsed.prompt,
        'Negative prompt': parsed.negativePrompt,
        ...parsed.settings,
        ...(size ? { 'Size-1': size[1]!, 'Size-2': size[2]! } : {}),
      },
    };
  }
}
