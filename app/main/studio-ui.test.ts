// What the window needs from the studio beyond generating: step previews, the queue, model folders the
// user already has, plans for models not downloaded yet, and LoRA cards that can be deleted or given a
// preview. A real worker process, a real data folder.
import { demoFamily } from '../shared/model-families.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobEvent, QueueItem } from '../shared/contract.js';
import { appRoot, appVersion, builtInDemoModelDir } from './paths.js';
import { ModelRegistry } from './registry/model-registry.js';
import { testStudio } from './test-support/test-studio.js';

const base = { prompt: 'a red fox', steps: 3, width: 256, height: 256, seed: 7, format: 'png' as const };
const fixtureLora = join(appRoot(), 'test-fixtures', 'qwen-image', 'lora', 'lora_lightx2v_format.safetensors');

describe('the studio behind the window', () => {
  const studio = testStudio();
  afterAll(() => studio.close());

  it('sends a small preview image with every denoising step, before the image is saved', async () => {
    const seen: JobEvent[] = [];
    const job = studio.submit(base);
    studio.jobs.onEvent((e) => e.jobId === job.jobId && seen.push(e));
    await job.completion;
    // Step 0 says denoising began; every finished step carries its preview.
    const steps = seen.flatMap((e) => (e.type === 'progress' && e.progress.phase === 'denoising' && e.progress.step > 0 ? [e.progress] : []));
    expect(steps.map((p) => p.step)).toEqual([1, 2, 3]);
    for (const p of steps) {
      expect(p.preview).toMatch(/^data:image\/jpeg;base64,/);
      expect(p.preview!.length).toBeLessThan(12_000);
      const meta = await sharp(Buffer.from(p.preview!.split(',')[1]!, 'base64')).metadata();
      // 256 px at 8 pixels a latent cell: a 32-by-32 projection.
      expect([meta.width, meta.height]).toEqual([32, 32]);
    }
    // Each step changes the latents, so the previews differ.
    expect(new Set(steps.map((p) => p.preview)).size).toBe(3);
    expect(seen.at(-1)?.type).toBe('succeeded');
  });

  it('lists the queue on every change and cancels a waiting job', async () => {
    const snapshots: (readonly QueueItem[])[] = [];
    const off = studio.jobs.onQueueChange((items) => snapshots.push(items));
    const a = studio.submit({ ...base, seed: 1 });
    const b = studio.submit({ ...base, seed: 2 });
    expect(studio.jobs.jobs().map((j) => [j.jobId, j.running])).toEqual([
      [a.jobId, true],
      [b.jobId, false],
    ]);
    expect(studio.jobs.cancel(b.jobId)).toBe(true);
    await expect(b.completion).rejects.toMatchObject({ code: 'cancelled' });
    await a.completion;
    off();
    expect(snapshots.at(-1)).toEqual([]);
    expect(snapshots.some((s) => s.length === 2 && s[1]!.jobId === b.jobId && s[1]!.request.seed === 2)).toBe(true);
    expect(snapshots.some((s) => s.length === 1 && s[0]!.jobId === a.jobId && s[0]!.running)).toBe(true);
  });

  it('adds a model folder the user has, after the worker opened it, and remembers it', async () => {
    const { fixtureModelFolder } = await import('../worker/test-support/fixture-model.js');
    const dir = fixtureModelFolder(mkdtempSync(join(tmpdir(), 'my-models-')));
    const info = await studio.addModelFolder(dir);
    expect(info).toMatchObject({ id: `folder:${dir}`, name: 'tiny-qwen-image', origin: 'folder', isDemo: false });
    expect(studio.info('browser').models.map((m) => m.id)).toContain(info.id);
    // Twice is once.
    await studio.addModelFolder(`${dir}/`);
    expect(studio.info('browser').models.filter((m) => m.path === dir)).toHaveLength(1);
    // A new start finds it again.
    const again = new ModelRegistry(builtInDemoModelDir(), demoFamily(), join(studio.layout.root, 'model-folders.json'));
    await again.discover(join(studio.layout.root, 'no-models'), { HF_HUB_CACHE: join(studio.layout.root, 'no-cache') });
    expect(again.list().map((m) => m.id)).toContain(info.id);
    const record = await studio.submit({ ...base, steps: 1, modelId: info.id }).completion;
    expect(record.recipe.modelName).toBe('tiny-qwen-image');
  });

  it.each([
    ['a relative path', () => 'models/Qwen-Image', 'error.folderNotAbsolute'],
    ['a path with nothing there', () => join(tmpdir(), 'no-such-folder-here'), 'error.folderMissing'],
    ['a file', () => fixtureLora, 'error.folderNotFolder'],
    ['a folder that is not a model', () => mkdtempSync(join(tmpdir(), 'not-a-model-')), 'error.modelIndexMissing'],
    [
      'a model folder whose download is incomplete',
      () => {
        const d = mkdtempSync(join(tmpdir(), 'half-model-'));
        writeFileSync(join(d, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
        return d;
      },
      'error.modelComponentMissing',
    ],
  ])('refuses %s with the reason, listing nothing', async (_, path, key) => {
    const before = studio.info('browser').models.length;
    await expect(studio.addModelFolder(path())).rejects.toMatchObject({ notice: { key } });
    expect(studio.info('browser').models).toHaveLength(before);
  });

  it('predicts how a catalog model would run before it is downloaded', async () => {
    const report = await studio.planCatalog('qwen-image-2512', 1024, 1024);
    expect(report.device.provider).toBe('cpu');
    expect(report.plans.length).toBeGreaterThanOrEqual(4);
    // 20 billion parameters on two CPU threads: minutes per step, and the report says so in numbers.
    const fastest = Math.min(...report.plans.map((p) => p.secondsPerStep));
    expect(fastest).toBeGreaterThan(60);
    await expect(studio.planCatalog('sdxl-turbo', 512, 512)).rejects.toMatchObject({ notice: { key: 'error.catalogNotPlannable' } });
    await expect(studio.planCatalog('nope', 512, 512)).rejects.toMatchObject({ notice: { key: 'error.catalogUnknown' } });
  });

  it('gives a LoRA card a preview from the history and deletes a LoRA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lora-src-'));
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'ink-wash.safetensors');
    writeFileSync(file, readFileSync(fixtureLora));
    const imported = await studio.loras.import(file);
    if (!imported.ok) throw new Error('import failed');
    expect(imported.lora.sha256).toMatch(/^[0-9a-f]{64}$/);
    const record = await studio.submit({ ...base, steps: 1, loras: [{ id: imported.lora.id, strength: 0.8 }] }).completion;
    const card = await studio.loras.setPreview(imported.lora.id, studio.history.thumbPath(record.id));
    expect(card.previewUrl).toMatch(/preview\.jpg$/);
    expect(studio.loras.list().find((l) => l.id === card.id)?.previewUrl).toBe(card.previewUrl);
    const folder = join(studio.loras.library.dir, 'ink-wash');
    expect(existsSync(join(folder, 'preview.jpg'))).toBe(true);
    expect(await studio.loras.remove(card.id)).toBe(true);
    expect(existsSync(folder)).toBe(false);
    expect(studio.loras.list().map((l) => l.id)).not.toContain(card.id);
    expect(await studio.loras.remove(card.id)).toBe(false);
    // The image made with it keeps its recipe.
    expect(studio.history.get(record.id).recipe.loras.map((l) => l.name)).toEqual(['ink-wash']);
    expect(appVersion()).toBeTruthy();
  });
});
