import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LIGHTNING_SAMPLER } from '../../shared/flow-match.js';
import type { GenerationRecord } from '../../shared/generation.js';
import { openDatabase, type Db } from '../store/database.js';
import { countMatching, insertGeneration, listGenerations } from '../store/generations.js';
import { HistoryReader } from './history-reader.js';

function record(i: number): GenerationRecord {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return {
    id,
    createdAt: 1_700_000_000_000 + i * 1000,
    recipe: { prompt: `a portrait of a traveller, variation ${i}`, negativePrompt: '', seed: i, steps: 4, guidance: 1, width: 512, height: 512, modelId: 'demo', modelName: 'demo', modelHashes: [], loras: [], sampler: LIGHTNING_SAMPLER, appVersion: '0', device: 'cpu' },
    durations: { loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, saveMs: 0, totalMs: 0 },
    format: 'png',
    imageFile: `x/${id}.png`,
    thumbFile: `x/${id}.webp`,
  };
}

describe('history queries on their own thread', () => {
  const open: { db: Db; reader: HistoryReader }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.reader.close();
      o.db.close();
    }
  });
  function history(rows: number) {
    const file = join(mkdtempSync(join(tmpdir(), 'history-thread-')), 'studio.db');
    const db = openDatabase(file);
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insertGeneration(db, record(i));
    })();
    const reader = new HistoryReader(db, file);
    open.push({ db, reader });
    return { db, reader };
  }

  it('answers what the main connection answers, and sees rows written since', async () => {
    const { db, reader } = history(300);
    for (const q of [{ limit: 60 }, { limit: 10, search: 'traveller 12' }, { limit: 5, seed: 42 }]) expect(await reader.list(q)).toEqual(listGenerations(db, q));
    expect(reader.threaded).toBe(true);
    insertGeneration(db, record(300));
    expect((await reader.list({ limit: 60 })).rows[0]!.seed).toBe(300);
  });

  it('counts on the thread what the main connection counts, and sees rows written since', async () => {
    const { db, reader } = history(300);
    for (const q of [{}, { search: 'traveller 12' }, { seed: 42 }, { search: 'portrait', from: 1_700_000_000_000 + 100_000 }]) expect(await reader.count(q)).toBe(countMatching(db, q));
    expect(await reader.count({})).toBe(300);
    expect(reader.threaded).toBe(true);
    insertGeneration(db, record(300));
    expect(await reader.count({})).toBe(301);
    // A count and a page of the same filters are not mixed up in flight or in the cache.
    const [page, count] = await Promise.all([reader.list({ limit: 5, search: 'portrait' }), reader.count({ search: 'portrait' })]);
    expect([page.rows.length, count]).toEqual([5, 301]);
  });

  it('keeps the main thread free while a flood of searches matching every row runs', async () => {
    const { reader } = history(10_000);
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    try {
      // 400 different searches (none answered from the cache), each matching every row.
      const pages = await Promise.all(Array.from({ length: 400 }, (_, i) => reader.list({ limit: 20 + (i % 200), search: 'portrait traveller' })));
      longestGap = Math.max(longestGap, performance.now() - last);
      expect(pages.map((p) => p.rows.length)).toEqual(Array.from({ length: 400 }, (_, i) => 20 + (i % 200)));
    } finally {
      clearInterval(ticker);
    }
    const floodMs = performance.now() - started;
    // On the main thread the flood would hold it for all of floodMs at once.
    expect(longestGap).toBeLessThan(Math.max(50, floodMs / 10));
  });

  it('answers identical queries in flight once', async () => {
    const { reader } = history(100);
    const a = reader.list({ limit: 60, search: 'portrait' });
    const b = reader.list({ limit: 60, search: 'portrait' });
    expect(a).toBe(b);
    expect((await a).rows).toHaveLength(60);
  });

  it('runs the queries on the main connection where no thread can read the database', async () => {
    const db = openDatabase(':memory:');
    insertGeneration(db, record(1));
    const reader = new HistoryReader(db, ':memory:');
    try {
      expect((await reader.list({ limit: 10 })).rows.map((r) => r.seed)).toEqual([1]);
      expect(await reader.count({})).toBe(1);
      expect(reader.threaded).toBe(false);
    } finally {
      await reader.close();
      db.close();
    }
  });
});
