import { noticeText } from '../shared/notices.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseA1111Parameters } from '../shared/a1111-parameters.js';
import type { JobEvent } from '../shared/contract.js';
import { readPngText } from './images/png-text.js';
import { countGenerations } from './store/generations.js';
import type { Studio } from './studio.js';
import { testStudio } from './test-support/test-studio.js';
import { workerEntry } from './paths.js';
import { nodeWorkerSpawner } from './worker-host/worker-handle.js';

const base = { prompt: 'a red fox', steps: 4, width: 256, height: 256, seed: 7, format: 'png' as const };

function events(studio: Studio, jobId: () => string | undefined): JobEvent[] {
  const seen: JobEvent[] = [];
  studio.jobs.onEvent((e) => {
    if (e.jobId === jobId()) seen.push(e);
  });
  return seen;
}

describe('Studio with the real worker', () => {
  const studio = testStudio();
  afterAll(() => studio.close());

  it('reports the plan for a model and size before generating: the device, every plan, the choice', async () => {
    const report = await studio.plan('demo', 1024, 1024);
    expect(report.device).toMatchObject({ provider: 'cpu', name: expect.stringMatching(/^CPU \(\d+ threads\)$/), unavailable: [] });
    expect(report.plans.map((p) => p.kind)).toEqual(expect.arrayContaining(['resident', 'sequential', 'int8', 'int4']));
    expect(report.chosen).toMatchObject({ kind: 'resident', fits: true });
    await expect(studio.plan('nope', 512, 512)).rejects.toMatchObject({ code: 'model-not-found' });
  });

  it('turns a prompt into a saved image with its full recipe in the history and in the file', async () => {
    let id: string | undefined;
    const seen = events(studio, () => id);
    const job = studio.submit(base);
    id = job.jobId;
    const record = await job.completion;

    expect(seen.map((e) => (e.type === 'progress' ? `${e.progress.phase}:${e.progress.step}` : e.type))).toEqual([
      'loading:0',
      'encoding:0',
      'denoising:0',
      'denoising:1',
      'denoising:2',
      'denoising:3',
      'denoising:4',
      'decoding:4',
      'saving:4',
      'succeeded',
    ]);
    expect(record.recipe).toMatchObject({
      prompt: 'a red fox',
      negativePrompt: '',
      seed: 7,
      steps: 4,
      guidance: 1,
      width: 256,
      height: 256,
      modelId: 'demo',
      loras: [],
      sampler: { name: 'flow-match-euler', baseShift: Math.log(3), shiftTerminal: null },
      appVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      device: expect.stringMatching(/^cpu f32, \d+ threads, plan resident/),
      precision: 'f32',
    });
    expect(record.recipe.modelHashes).toEqual(
      expect.arrayContaining([
        { file: 'transformer/diffusion_pytorch_model.safetensors', bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
        { file: 'text_encoder/model.safetensors', bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
        { file: 'vae/diffusion_pytorch_model.safetensors', bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ]),
    );
    expect(record.durations.totalMs).toBeGreaterThan(0);

    const file = readFileSync(join(studio.layout.images, record.imageFile));
    const params = parseA1111Parameters(readPngText(file).parameters!);
    expect(params.prompt).toBe('a red fox');
    expect(params.settings).toMatchObject({ Seed: '7', Steps: '4', Size: '256x256' });
    expect(JSON.parse(params.settings['Studio recipe']!)).toEqual(record.recipe);
    expect(existsSync(join(studio.layout.thumbs, record.thumbFile))).toBe(true);
    expect(studio.history.get(record.id).recipe).toEqual(record.recipe);
  });

  it('reproduces the same pixels from the same seed, and picks and records a seed when none is given', async () => {
    const a = await studio.submit(base).completion;
    const b = await studio.submit(base).completion;
    const pixels = async (f: string) => sharp(join(studio.layout.images, f)).raw().toBuffer();
    expect((await pixels(a.imageFile)).equals(await pixels(b.imageFile))).toBe(true);
    const { seed: _omit, ...noSeed } = base;
    const c = studio.submit(noSeed);
    expect(c.request.seed).toBeGreaterThanOrEqual(0);
    expect((await c.completion).recipe.seed).toBe(c.request.seed);
  });

  it('fails a job whose worker is killed, names the cause, restarts, and keeps the history', async () => {
    const before = countGenerations(studio.db);
    let id: string | undefined;
    const seen = events(studio, () => id);
    const job = studio.submit({ ...base, width: 1024, height: 1024, steps: 50 });
    id = job.jobId;
    const pidBefore = studio.supervisor.pid;
    studio.jobs.onEvent((e) => {
      if (e.jobId === id && e.type === 'progress' && e.progress.phase === 'denoising' && e.progress.step === 1) {
        process.kill(pidBefore!, 'SIGKILL');
      }
    });
    await expect(job.completion).rejects.toMatchObject({ code: 'worker-crashed', message: expect.stringMatching(/killed by SIGKILL.*restarted/) });
    expect(seen.at(-1)).toMatchObject({ type: 'failed', error: { code: 'worker-crashed' } });

    const next = await studio.submit(base).completion;
    expect(studio.supervisor.pid).not.toBe(pidBefore);
    expect(countGenerations(studio.db)).toBe(before + 1);
    expect(studio.history.get(next.id).recipe.seed).toBe(7);
    expect(studio.history.list({ limit: 100 }).items).toHaveLength(before + 1);
  });

  it('cancels a queued job and a running one without recording anything', async () => {
    const before = countGenerations(studio.db);
    const running = studio.submit({ ...base, width: 1024, height: 1024, steps: 50 });
    const queued = studio.submit(base);
    expect(studio.jobs.cancel(queued.jobId)).toBe(true);
    await expect(queued.completion).rejects.toMatchObject({ code: 'cancelled' });
    await new Promise<void>((resolve) =>
      studio.jobs.onEvent((e) => {
        if (e.jobId === running.jobId && e.type === 'progress' && e.progress.phase === 'denoising') resolve();
      }),
    );
    expect(studio.jobs.cancel(running.jobId)).toBe(true);
    await expect(running.completion).rejects.toMatchObject({ code: 'cancelled' });
    expect(countGenerations(studio.db)).toBe(before);
    expect(studio.jobs.cancel(running.jobId)).toBe(false);
  });

  it('a cancelled job that nobody awaits (hosts follow events) leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const job = studio.submit({ ...base, steps: 50 });
      const cancelled = new Promise<void>((resolve) => studio.jobs.onEvent((e) => e.jobId === job.jobId && e.type === 'cancelled' && resolve()));
      await new Promise<void>((resolve) => studio.jobs.onEvent((e) => e.jobId === job.jobId && e.type === 'progress' && e.progress.phase === 'denoising' && resolve()));
      studio.jobs.cancel(job.jobId);
      await cancelled;
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses bad requests before they reach the worker, recording nothing', () => {
    const before = countGenerations(studio.db);
    expect(() => studio.submit({ ...base, prompt: '' })).toThrow(/The prompt is empty/);
    expect(() => studio.submit({ ...base, width: 1000 })).toThrow(/multiple of 16/);
    expect(() => studio.submit({ ...base, steps: 99 })).toThrow(/Steps must be between 1 and 50/);
    expect(() => studio.submit({ ...base, modelId: 'nope' })).toThrow(/The model "nope" is not installed/);
    expect(countGenerations(studio.db)).toBe(before);
  });

  it.each([
    ['a missing folder', (dir: string) => join(dir, 'missing'), /There is no model folder at/],
    ['a folder without model_index.json', (dir: string) => dir, /has no model_index.json/],
    [
      'a Qwen-Image folder whose download is incomplete',
      (dir: string) => {
        writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
        return dir;
      },
      /has no transformer\/ folder; the download is incomplete/,
    ],
    [
      'an SDXL folder whose download is incomplete',
      (dir: string) => {
        writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionXLPipeline' }));
        return dir;
      },
      /has no unet\/ folder; the download is incomplete/,
    ],
  ])('fails clearly on %s', async (_, make, pattern) => {
    const dir = make(mkdtempSync(join(tmpdir(), 'studio-model-')));
    await studio.models.registerFolder('custom', dir, 'custom');
    const before = countGenerations(studio.db);
    await expect(studio.submit({ ...base, modelId: 'custom' }).completion).rejects.toThrow(pattern);
    expect(countGenerations(studio.db)).toBe(before);
  });

  it('refuses a folder whose model_index.json names no family it runs, naming the file, before any job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'studio-model-'));
    writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'FluxPipeline' }));
    await expect(studio.models.registerFolder('flux', dir, 'flux')).rejects.toThrow(/model_index\.json names the pipeline FluxPipeline, which is no model family the studio runs \(it runs QwenImagePipeline, StableDiffusionXLPipeline, StableDiffusionPipeline\)/);
    expect(() => studio.models.get('flux')).toThrow(/The model "flux" is not installed/);
  });
});

/** A 1 MiB tmpfs: a real full disk. Mounting needs root, which CI and the dev machines have. */
function mountTinyDisk(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'studio-tiny-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}

describe.runIf(process.platform === 'linux' && process.getuid?.() === 0)('Studio on a full disk', () => {
  it('says the disk is full, records nothing, and leaves no partial files', async () => {
    const disk = mountTinyDisk();
    expect(disk, 'mounting a tmpfs as root').toBeDefined();
    const studio = testStudio({ dataDir: join(disk!, 'data') });
    try {
      // Fill what is left.
      mkdirSync(join(disk!, 'filler'));
      try {
        writeFileSync(join(disk!, 'filler', 'blob'), Buffer.alloc(2 * 1024 * 1024));
      } catch {
        // ENOSPC: exactly what was wanted.
      }
      await expect(studio.submit({ ...base, width: 512, height: 512 }).completion).rejects.toMatchObject({
        code: 'storage-failed',
        message: expect.stringMatching(/is full; nothing was saved there/),
      });
      expect(countGenerations(studio.db)).toBe(0);
      const leftovers = readdirSync(studio.layout.images, { recursive: true }).map(String).filter((f) => /\.(png|jpg|partial)$/.test(f));
      expect(leftovers).toEqual([]);
    } finally {
      await studio.close();
      execFileSync('umount', ['-l', disk!]);
    }
  });
});

describe('models already on disk', () => {
  it('registers Qwen-Image folders from the Hugging Face cache and the studio models folder', async () => {
    const { fixtureHubCache, fixtureModelFolder } = await import('../worker/test-support/fixture-model.js');
    const cache = mkdtempSync(join(tmpdir(), 'hf-hub-'));
    fixtureHubCache(cache);
    const studio = testStudio();
    try {
      fixtureModelFolder(join(studio.layout.root, 'models'));
      const found = await studio.models.discover(studio.modelsDir, { HF_HUB_CACHE: cache });
      expect(found.map((m) => m.id).sort()).toEqual(['hf:Qwen/Tiny-Image', 'local:tiny-qwen-image']);
      expect(studio.info('browser').models.map((m) => m.id)).toEqual(expect.arrayContaining(['demo', 'hf:Qwen/Tiny-Image', 'local:tiny-qwen-image']));
      const record = await studio.submit({ prompt: 'a fox', steps: 1, width: 256, height: 256, seed: 1, modelId: 'hf:Qwen/Tiny-Image' }).completion;
      expect(record.recipe.modelHashes.find((h) => h.file === 'vae/diffusion_pytorch_model.safetensors')?.sha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await studio.close();
    }
  });
});

describe('execution plans through the worker', () => {
  it('runs a plan the user named, says while it makes the quantized copy, and records the plan', async () => {
    const { fixtureModelFolder } = await import('../worker/test-support/fixture-model.js');
    const studio = testStudio({ spawnWorker: nodeWorkerSpawner(workerEntry(), { ...process.env, STUDIO_THREADS: '2', STUDIO_PLAN: 'int4-streamed:1' }) });
    try {
      fixtureModelFolder(join(studio.layout.root, 'models'));
      await studio.models.discover(studio.modelsDir, { HF_HUB_CACHE: join(studio.layout.root, 'no-cache') });
      const report = await studio.plan('local:tiny-qwen-image', 256, 256);
      expect(report.forced).toBe('int4-streamed:1');
      const notes: string[] = [];
      studio.jobs.onEvent((e) => e.type === 'progress' && e.progress.note && notes.push(noticeText(e.progress.note)));
      const record = await studio.submit({ prompt: 'a fox', steps: 1, width: 256, height: 256, seed: 1, modelId: 'local:tiny-qwen-image' }).completion;
      expect(record.recipe.device).toContain('plan int4-streamed:1');
      expect(notes).toContain('Making the 4-bit copy of the transformer (once).');
      expect(notes).toContain('Quantizing the transformer to 4 bits: 100%');
      expect(existsSync(join(studio.layout.root, 'models', 'tiny-qwen-image', 'studio-quantized', 'transformer-int4', 'manifest.json'))).toBe(true);
    } finally {
      await studio.close();
    }
  });
});

describe('settings the worker cannot use', () => {
  it('a typo in STUDIO_PLAN fails each job and plan request with a message naming it, and the worker keeps serving', async () => {
    const studio = testStudio({ spawnWorker: nodeWorkerSpawner(workerEntry(), { ...process.env, STUDIO_THREADS: '2', STUDIO_PLAN: 'streemed:8' }) });
    try {
      const expected = /STUDIO_PLAN is set to "streemed:8", which the studio does not understand\. Use one of: resident, sequential, streamed:N/;
      await expect(studio.submit({ prompt: 'a fox', steps: 1, width: 256, height: 256, seed: 1 }).completion).rejects.toThrow(expected);
      await expect(studio.plan('demo', 256, 256)).rejects.toThrow(expected);
      // The same worker answers again (it did not exit): a second job gets the same clear message.
      await expect(studio.submit({ prompt: 'a fox', steps: 1, width: 256, height: 256, seed: 2 }).completion).rejects.toThrow(expected);
    } finally {
      await studio.close();
    }
  });
});

describe('favourites and deletion', () => {
  it('marks a favourite, deletes an image with its files, and says so for an unknown one', async () => {
    const studio = testStudio();
    try {
      const g = await studio.submit({ prompt: 'to delete', steps: 1, width: 256, height: 256, seed: 3 }).completion;
      expect(studio.history.setFavorite(g.id, true)).toEqual({ favorite: true });
      expect(studio.history.get(g.id).favorite).toBe(true);
      expect(studio.history.list({ limit: 10, favorites: true }).items.map((i) => i.id)).toEqual([g.id]);
      expect(await studio.history.delete(g.id)).toEqual({ deleted: true, trashed: false });
      expect(existsSync(join(studio.layout.images, g.imageFile))).toBe(false);
      expect(existsSync(join(studio.layout.thumbs, g.thumbFile))).toBe(false);
      expect(studio.history.list({ limit: 10 }).items).toEqual([]);
      expect(await studio.history.delete(g.id)).toEqual({ deleted: false, trashed: false });
    } finally {
      await studio.close();
    }
  });
});
