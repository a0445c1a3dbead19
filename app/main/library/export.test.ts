import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportState } from '../../shared/contract.js';
import type { GenerationRecord } from '../../shared/generation.js';
import { createDispatch } from '../api-dispatch.js';
import { appRoot } from '../paths.js';
import { testStudio } from '../test-support/test-studio.js';
import { exportImages, PARTIAL_SUFFIX } from './export.js';

function finished(studio: ReturnType<typeof testStudio>, id: string): Promise<ExportState> {
  return new Promise((resolve) => studio.exports.onChange((e) => e.id === id && e.status !== 'running' && resolve(e)));
}

describe('export', () => {
  it('writes images, JSON sidecars and a CSV of recipes to a folder and to a ZIP, for a filtered view', async () => {
    const studio = testStudio();
    try {
      await studio.submit({ prompt: '一只狐狸, "quoted", with comma', steps: 1, width: 256, height: 256, seed: 5, format: 'png' }).completion;
      await studio.submit({ prompt: 'a whale', steps: 1, width: 256, height: 256, seed: 6 }).completion;
      const folder = studio.exports.start({ filters: { search: '狐狸' } }, 'folder');
      const doneFolder = await finished(studio, folder.id);
      expect(doneFolder).toMatchObject({ status: 'done', done: 1, total: 1 });
      const files = readdirSync(doneFolder.target).sort();
      expect(files).toHaveLength(3);
      expect(files.find((f) => f.endsWith('.png'))).toMatch(/_seed5_/);
      const sidecar = JSON.parse(readFileSync(join(doneFolder.target, files.find((f) => f.endsWith('.json'))!), 'utf8')) as { recipe: { prompt: string; seed: number } };
      expect(sidecar.recipe).toMatchObject({ prompt: '一只狐狸, "quoted", with comma', seed: 5 });
      const csv = readFileSync(join(doneFolder.target, 'recipes.csv'), 'utf8');
      expect(csv.split('\r\n')[0]).toBe('\ufefffile,created,prompt,negative_prompt,seed,steps,guidance,width,height,model,model_hash,loras,sampler,device');
      expect(csv).toContain('"一只狐狸, ""quoted"", with comma"');

      const zip = studio.exports.start({}, 'zip');
      const doneZip = await finished(studio, zip.id);
      expect(doneZip).toMatchObject({ status: 'done', done: 2, total: 2 });
      // Python's zipfile reads the archive: the format is right, the CRCs check.
      const listing = execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(sorted(z.namelist())))', doneZip.target], { encoding: 'utf8' });
      const names = listing.trim().split('\n');
      expect(names).toHaveLength(5);
      expect(names.filter((n) => n.endsWith('.json'))).toHaveLength(2);
      expect(names).toContain('recipes.csv');
    } finally {
      await studio.close();
    }
  });
});

describe('exporting many images, missing files and unsafe prompts', () => {
  let studio: ReturnType<typeof testStudio>;
  let base: GenerationRecord;
  let tinyImages: string;
  beforeAll(async () => {
    studio = testStudio();
    base = await studio.submit({ prompt: 'a lighthouse', steps: 1, width: 256, height: 256, seed: 9, format: 'png' }).completion;
    // The same image at 8x8: exports of tens of thousands of records without gigabytes of pixels.
    tinyImages = mkdtempSync(join(tmpdir(), 'export-tiny-'));
    mkdirSync(join(tinyImages, dirname(base.imageFile)), { recursive: true });
    await sharp(readFileSync(join(studio.layout.images, base.imageFile))).resize(8, 8).png().toFile(join(tinyImages, base.imageFile));
  });
  afterAll(async () => {
    await studio.close();
    rmSync(tinyImages, { recursive: true, force: true });
  });

  /** n records of the history, each its own id and time, all pointing at real image files. */
  function copies(n: number, prompt = (i: number) => `${base.recipe.prompt} ${i}`): GenerationRecord[] {
    return Array.from({ length: n }, (_, i) => ({
      ...base,
      id: `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
      createdAt: base.createdAt + i * 1000,
      recipe: { ...base.recipe, prompt: prompt(i), seed: i },
    }));
  }

  it('exports 32,768 images (65,537 entries with sidecars and the CSV) as a ZIP64 archive that reads back whole', async () => {
    // Many tiny entries: the same record count as a large history, without gigabytes of pixels.
    const target = join(mkdtempSync(join(tmpdir(), 'export-many-')), 'many.zip');
    const n = 32_768;
    const r = await exportImages({ records: copies(n), total: n, imagesDir: tinyImages, kind: 'zip', target });
    expect(r).toEqual({ count: n, target, skipped: [] });
    const out = execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); n = z.namelist(); print(len(n), n[-1], z.testzip())', target], { encoding: 'utf8' });
    expect(out.trim()).toBe(`${2 * n + 1} recipes.csv None`);
    rmSync(dirname(target), { recursive: true, force: true });
  });

  it.each(['zip', 'folder'] as const)('skips an image whose file is gone and reports it, exporting the rest (%s)', async (kind) => {
    const images = mkdtempSync(join(tmpdir(), 'export-images-'));
    cpSync(studio.layout.images, images, { recursive: true });
    const records = copies(3).map((g, i) => (i === 1 ? { ...g, imageFile: g.imageFile.replace(/\.png$/, '-gone.png') } : g));
    const target = join(mkdtempSync(join(tmpdir(), 'export-skip-')), kind === 'zip' ? 'out.zip' : 'out');
    const progress: number[] = [];
    const r = await exportImages({ records, total: 3, imagesDir: images, kind, target, onProgress: (done) => progress.push(done) });
    expect(r.count).toBe(2);
    expect(r.skipped).toEqual([records[1]!.imageFile]);
    expect(progress).toEqual([1, 1, 2]);
    const names = kind === 'zip'
      ? execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(z.namelist()))', target], { encoding: 'utf8' }).trim().split('\n')
      : readdirSync(target);
    expect(names.filter((n) => n.endsWith('.png'))).toHaveLength(2);
    expect(names.some((n) => n.includes('_seed1_'))).toBe(false);
  });

  it('escapes prompts that a spreadsheet would run as formulas in recipes.csv', async () => {
    const unsafe = ['=HYPERLINK("http://x","y")', '+1+2', '-2+3', '@SUM(A1)', '\tcmd', 'plain, with comma'];
    const target = join(mkdtempSync(join(tmpdir(), 'export-csv-')), 'out');
    await exportImages({ records: copies(unsafe.length, (i) => unsafe[i]!), total: unsafe.length, imagesDir: studio.layout.images, kind: 'folder', target });
    // Python's csv module reads the table back: the quoting is right, prompts keep their text behind the apostrophe.
    const parsed = JSON.parse(
      execFileSync('python3', ['-c', 'import csv, json, sys; r = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline=""))); print(json.dumps([[x["prompt"], x["seed"]] for x in r]))', join(target, 'recipes.csv')], {
        encoding: 'utf8',
      }),
    ) as [string, string][];
    expect(parsed).toEqual(unsafe.map((p, i) => [/^[=+\-@\t]/.test(p) ? `'${p}` : p, String(i)]));
  });

  it('a killed export leaves nothing under its final name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'export-kill-'));
    const recordsFile = join(dir, 'records.json');
    writeFileSync(recordsFile, JSON.stringify(copies(20_000)));
    const script = join(dir, 'export.mjs');
    const exportModule = pathToFileURL(join(appRoot(), 'dist', 'app', 'main', 'library', 'export.js')).href;
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
       const { exportImages } = await import(${JSON.stringify(exportModule)});
       const [records, imagesDir, kind, target] = [JSON.parse(readFileSync(process.argv[2], 'utf8')), process.argv[3], process.argv[4], process.argv[5]];
       await exportImages({ records, total: records.length, imagesDir, kind, target, onProgress: (done) => done % 1000 === 0 && process.stdout.write(done + '\\n') });
       process.stdout.write('finished\\n');`,
    );
    for (const kind of ['zip', 'folder']) {
      const target = join(dir, kind === 'zip' ? 'export.zip' : 'export');
      const child = spawn(process.execPath, [script, recordsFile, tinyImages, kind, target], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), /^1000$/m.test(out) && resolve())));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(out).not.toContain('finished');
      expect(existsSync(target)).toBe(false);
      expect(existsSync(`${target}${PARTIAL_SUFFIX}`)).toBe(true);
    }
  });
});

describe('export.start through the dispatch the hosts use', () => {
  it('answers before any event, under the caller\'s id, with revisions; names the images it had to skip', async () => {
    const studio = testStudio();
    try {
      const kept = await studio.submit({ prompt: 'kept', steps: 1, width: 256, height: 256, seed: 1, format: 'png' }).completion;
      const gone = await studio.submit({ prompt: 'gone', steps: 1, width: 256, height: 256, seed: 2, format: 'png' }).completion;
      rmSync(join(studio.layout.images, gone.imageFile));
      const dispatch = createDispatch(studio, 'browser');
      const id = '00000000-0000-4000-8000-00000000abcd';
      const order: string[] = [];
      const events: ExportState[] = [];
      const end = new Promise<ExportState>((resolve) =>
        studio.exports.onChange((e) => {
          order.push(`event ${e.revision}`);
          events.push(e);
          if (e.status !== 'running') resolve(e);
        }),
      );
      const reply = await dispatch('export.start', { id, ids: [kept.id, gone.id], kind: 'zip' });
      order.push('reply');
      expect(reply).toMatchObject({ ok: true, value: { id, status: 'running', revision: 0, total: 2 } });
      const done = await end;
      expect(order[0]).toBe('reply');
      expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i + 1));
      expect(events.every((e) => e.id === id)).toBe(true);
      expect(done).toMatchObject({ status: 'done', done: 1, skipped: 1, skippedFiles: [gone.imageFile] });
      expect(await dispatch('export.start', { id, ids: [kept.id], kind: 'zip' })).toMatchObject({ ok: true });
      expect(await dispatch('export.start', { id, ids: [kept.id], kind: 'zip' })).toMatchObject({ ok: false, error: { notice: { key: 'error.export.idInUse' } } });
    } finally {
      await studio.close();
    }
  });
});
