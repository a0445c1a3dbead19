import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIGHTNING_SAMPLER } from '../../shared/flow-match.js';
import { dataLayout } from '../paths.js';
import { runCli } from '../test-support/run-cli.js';
import { testStudio } from '../test-support/test-studio.js';
import { openDatabase } from './database.js';
import { markRunning, openDataFolder } from './data-folder.js';
import { countGenerations, getGeneration, insertGeneration } from './generations.js';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/);

/** A folder nothing can be written into: a read-only tmpfs as root (chmod does not stop root), else chmod 555. */
function readOnlyFolder(): { dir: string; release: () => void } {
  const dir = tmp('studio-ro-');
  if (process.platform === 'linux' && process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    return { dir, release: () => execFileSync('umount', ['-l', dir]) };
  }
  execFileSync('chmod', ['555', dir]);
  return { dir, release: () => execFileSync('chmod', ['755', dir]) };
}

function syntheticRows(db: Database.Database, n: number): void {
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      insertGeneration(db, {
        id,
        createdAt: 1_700_000_000_000 + i,
        recipe: { prompt: `prompt ${i}`, negativePrompt: '', seed: i, steps: 4, guidance: 1, width: 512, height: 512, modelId: 'demo', modelName: 'demo', modelHashes: [], loras: [], sampler: LIGHTNING_SAMPLER, appVersion: '0', device: 'cpu' },
        durations: { loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, saveMs: 0, totalMs: 0 },
        format: 'png',
        imageFile: `x/${id}.png`,
        thumbFile: `x/${id}.webp`,
      });
    }
  })();
}

describe('a damaged history database', () => {
  it('that is not a database at all: every command says so clearly and leaves the file as it was', async () => {
    const data = tmp('studio-notadb-');
    const garbage = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 131) % 251));
    writeFileSync(join(data, 'studio.db'), garbage);
    for (const args of [['history'], ['serve', '--port', '0'], ['generate', '--prompt', 'x', '--size', '256x256', '--steps', '1']]) {
      const r = await runCli([...args, '--data-dir', data]);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toContain(`studio: The history database ${join(data, 'studio.db')} is damaged (file is not a database); it has not been changed. Run \`studio repair\``);
      noStack(r.stderr);
    }
    expect(readFileSync(join(data, 'studio.db')).equals(garbage)).toBe(true);
  });

  it('with a damaged page is found at start; repair keeps it and starts again with every readable row', async () => {
    const data = tmp('studio-corrupt-');
    const file = join(data, 'studio.db');
    const db = openDatabase(file);
    syntheticRows(db, 300);
    const leaves = db.prepare("SELECT pageno FROM dbstat WHERE name = 'generations' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[];
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const victim = leaves[Math.floor(leaves.length / 2)]!;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (victim - 1) * pageSize);
    closeSync(fd);
    const damaged = readFileSync(file);

    expect(() => openDatabase(file)).toThrow(expect.objectContaining({ code: 'database-corrupt', notice: expect.objectContaining({ key: 'error.database.corrupt' }) }));
    const serve = await runCli(['serve', '--port', '0', '--data-dir', data], { until: /is running/ });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toMatch(/studio: The history database .*studio\.db is damaged \(/);
    expect(readFileSync(file).equals(damaged)).toBe(true);

    const repair = await runCli(['repair', '--data-dir', data]);
    expect(repair.code).toBe(0);
    const m = /kept as (.+studio\.db\.corrupt-[^.]+Z)\. A new history was started with (\d+) image\(s\), 0 of them read back .*; (\d+) could not be read/.exec(repair.stdout);
    expect(m, repair.stdout + repair.stderr).not.toBeNull();
    expect(readFileSync(m![1]!).equals(damaged)).toBe(true);
    const recovered = Number(m![2]);
    expect(recovered).toBeGreaterThan(250);
    expect(recovered).toBeLessThan(300);
    const fresh = openDatabase(file);
    expect(countGenerations(fresh)).toBe(recovered);
    expect(getGeneration(fresh, '00000000-0000-4000-8000-000000000000')?.recipe.prompt).toBe('prompt 0');
    fresh.close();
    expect((await runCli(['repair', '--data-dir', data])).stdout).toMatch(/is sound; there is nothing to repair/);
  });

  describe('emptied to 0 bytes beside its images', () => {
    let data: string;
    const ids: string[] = [];
    beforeAll(async () => {
      const studio = testStudio();
      data = studio.layout.root;
      try {
        for (const [prompt, seed] of [['a red fox', 11], ['一只狐狸', 12]] as const) ids.push((await studio.submit({ prompt, seed, steps: 1, width: 256, height: 256, format: seed === 11 ? 'png' : 'jpeg95' }).completion).id);
      } finally {
        await studio.close();
      }
    });
    afterAll(() => rmSync(data, { recursive: true, force: true }));

    it('is refused instead of showing an empty gallery; repair rebuilds the history from the recipes inside the images', async () => {
      const layout = dataLayout(data);
      const thumbs = readdirSync(layout.thumbs, { recursive: true }).map(String).filter((f) => f.endsWith('.webp'));
      rmSync(join(layout.thumbs, thumbs[0]!)); // a thumbnail lost as well: made again
      for (const f of ['studio.db-wal', 'studio.db-shm']) rmSync(join(data, f), { force: true });
      truncateSync(layout.database, 0);
      const refused = await runCli(['history', '--data-dir', data]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('is empty (0 bytes), yet the images folder holds images');
      noStack(refused.stderr);
      expect(statSync(layout.database).size).toBe(0);

      const repair = await runCli(['repair', '--data-dir', data]);
      expect(repair.stdout).toMatch(/started with 2 image\(s\), 2 of them read back from the recipe inside their own files; 0 could not be read/);
      const listed = JSON.parse((await runCli(['history', '--json', '--data-dir', data])).stdout) as { id: string; recipe: { prompt: string; seed: number }; thumbFile: string; format: string }[];
      expect(listed.map((g) => [g.id, g.recipe.prompt, g.recipe.seed]).sort()).toEqual([[ids[0], 'a red fox', 11], [ids[1], '一只狐狸', 12]].sort());
      for (const g of listed) expect(existsSync(join(layout.thumbs, g.thumbFile))).toBe(true);
    });
  });
});

describe('a data folder that cannot be used', () => {
  it('read-only: a clear message naming the folder, and nothing written', async () => {
    const ro = readOnlyFolder();
    try {
      for (const args of [['history'], ['serve', '--port', '0']]) {
        const r = await runCli([...args, '--data-dir', ro.dir]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`studio: The studio cannot write to its data folder ${ro.dir} \\((EROFS|EACCES)\\)`));
        noStack(r.stderr);
      }
      expect(readdirSync(ro.dir)).toEqual([]);
    } finally {
      ro.release();
    }
  });

  it('a bad --port or a port in use: a clear message before anything opens', async () => {
    const data = tmp('studio-port-');
    for (const port of ['99999', 'abc', '80.5', '']) {
      const r = await runCli(['serve', '--port', port, '--data-dir', data]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`studio: --port must be a whole number from 0 to 65535 (0 picks a free port), not "${port}"`);
      noStack(r.stderr);
    }
    expect(readdirSync(data)).toEqual([]);
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--port', String(port), '--data-dir', data]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`studio: Port ${port} on 127.0.0.1 is already in use`);
      noStack(r.stderr);
    } finally {
      taken.close();
    }
  });
});

describe('what a killed run leaves behind', () => {
  function leftovers(root: string): string[] {
    const layout = dataLayout(root);
    const files = [join(layout.images, '2026-01-02', 'a.png.partial'), join(layout.thumbs, '2026-01-02', 'a.webp.partial'), join(root, 'exports', 'export-1.zip.partial'), join(root, 'exports', 'export-2.partial', 'x.png'), join(root, 'uploads', 'ab12.upload')];
    for (const f of files) {
      mkdirSync(join(f, '..'), { recursive: true });
      writeFileSync(f, 'half');
    }
    writeFileSync(join(layout.images, '2026-01-02', 'kept.png'), 'a finished image');
    return files;
  }

  it('is removed when the studio opens the folder', () => {
    const root = tmp('studio-sweep-');
    const files = leftovers(root);
    const opened = openDataFolder(dataLayout(root));
    try {
      expect([...opened.swept].sort()).toEqual([files[0], files[1], files[2], join(root, 'exports', 'export-2.partial'), files[4]].sort());
      for (const f of files) expect(existsSync(f)).toBe(false);
      expect(existsSync(join(root, 'images', '2026-01-02', 'kept.png'))).toBe(true);
    } finally {
      opened.db.close();
      opened.release();
    }
  });

  it('is left alone while another studio uses the folder: its writes in progress look the same', () => {
    const root = tmp('studio-sweep-busy-');
    const files = leftovers(root);
    // Another live process's mark (this test's parent, say); then this one opens.
    mkdirSync(join(root, '.running'), { recursive: true });
    writeFileSync(join(root, '.running', String(process.ppid)), '');
    const opened = openDataFolder(dataLayout(root));
    try {
      expect(opened.swept).toEqual([]);
      for (const f of files) expect(existsSync(f)).toBe(true);
    } finally {
      opened.db.close();
      opened.release();
    }
    const release = markRunning(root);
    release();
    expect(readdirSync(join(root, '.running'))).toEqual([String(process.ppid)]);
  });
});
