import { describe, expect, it } from 'vitest';
import { LIGHTNING_SAMPLER } from '../../shared/flow-match.js';
import type { GenerationRecord } from '../../shared/generation.js';
import { openDatabase } from './database.js';
import { countGenerations, countMatching, deleteGeneration, DENSE_MATCHES, explainCountQuery, explainListQuery, getGeneration, insertGeneration, listGenerations, planFor, setFavorite, type HistoryFilterQuery } from './generations.js';

function record(i: number, patch: { prompt?: string; modelId?: string; createdAt?: number; loras?: string[] } = {}): GenerationRecord {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return {
    id,
    createdAt: patch.createdAt ?? 1_700_000_000_000 + i * 1000,
    recipe: {
      prompt: patch.prompt ?? `prompt number ${i}`,
      negativePrompt: '',
      seed: i,
      steps: 4,
      guidance: 1,
      width: 512,
      height: 512,
      modelId: patch.modelId ?? 'demo',
      modelName: 'demo',
      modelHashes: [],
      loras: (patch.loras ?? []).map((name) => ({ name, sha256: '0'.repeat(64), strength: 1, role: 'style' as const })),
      sampler: LIGHTNING_SAMPLER,
      appVersion: '0.1.0',
      device: 'cpu',
    },
    durations: { loadMs: 0, encodeMs: 1, denoiseMs: 2, decodeMs: 3, saveMs: 4, totalMs: 10 },
    format: 'png',
    imageFile: `x/${id}.png`,
    thumbFile: `x/${id}.webp`,
  };
}

function freshDb() {
  return openDatabase(':memory:');
}

describe('generations', () => {
  it('stores and returns the full recipe', () => {
    const db = freshDb();
    const r = record(1, { prompt: 'a red fox, 狐狸' });
    insertGeneration(db, r);
    expect(getGeneration(db, r.id)).toEqual(r);
    expect(getGeneration(db, '00000000-0000-4000-8000-999999999999')).toBeUndefined();
  });

  it('pages newest first with a cursor, without gaps or repeats, also when timestamps tie', () => {
    const db = freshDb();
    for (let i = 0; i < 25; i++) insertGeneration(db, record(i, { createdAt: 1_700_000_000_000 + Math.floor(i / 5) }));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = listGenerations(db, { limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...page.rows.map((r) => r.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    const times = seen.map((id) => getGeneration(db, id)!.createdAt);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('searches prompt text in English and Chinese, short queries included', () => {
    const db = freshDb();
    insertGeneration(db, record(1, { prompt: 'a red fox in the snow' }));
    insertGeneration(db, record(2, { prompt: '一只红色的狐狸，雪林' }));
    insertGeneration(db, record(3, { prompt: 'a blue whale, 100% ocean_deep' }));
    const search = (s: string) => listGenerations(db, { limit: 10, search: s }).rows.map((r) => r.seed);
    expect(search('red fox')).toEqual([1]);
    expect(search('FOX')).toEqual([1]);
    expect(search('红色的')).toEqual([2]);
    expect(search('狐')).toEqual([2]); // one character: the LIKE fallback
    expect(search('a ')).toEqual([3, 1]);
    expect(search('100%')).toEqual([3]);
    expect(search('%')).toEqual([3]); // wildcards are literal
    expect(search('_')).toEqual([3]);
    expect(search('"quoted')).toEqual([]);
  });

  it('finds every word of a search in any order, in the prompt, a LoRA name or the seed', () => {
    const db = freshDb();
    insertGeneration(db, record(1, { prompt: 'a red fox in the snow', loras: ['Ink Wash'] }));
    insertGeneration(db, record(2, { prompt: 'a fox, red sky at dawn' }));
    insertGeneration(db, record(3, { prompt: '一只红色的狐狸，雪林', loras: ['Qwen-Image-Lightning-4steps'] }));
    insertGeneration(db, record(4096, { prompt: 'seed in the prompt 1 and 2' }));
    const search = (s: string) => listGenerations(db, { limit: 10, search: s }).rows.map((r) => r.seed);
    expect(search('fox red')).toEqual([2, 1]);
    expect(search('red fox snow')).toEqual([1]);
    expect(search('snow fox red')).toEqual([1]);
    expect(search('ink fox')).toEqual([1]); // a LoRA name and a prompt word
    expect(search('lightning 狐狸')).toEqual([3]);
    expect(search('4096')).toEqual([4096]); // the seed
    expect(search('3')).toEqual([3]); // a short seed
    expect(search('2 dawn')).toEqual([2]); // the seed 2, and a word of its prompt
    expect(search('1 2')).toEqual([4096]); // both digits in one prompt; no image has both seeds
    expect(search('fox whale')).toEqual([]);
    expect(search('"red fox"')).toEqual([1]); // a quoted phrase, as it is
    expect(search('"fox red"')).toEqual([]);
    expect(search('"4096"')).toEqual([]); // quoted digits are text, not a seed
    expect(search('"prompt 1" seed')).toEqual([4096]);
    expect(search('  ')).toEqual([4096, 3, 2, 1]);
  });

  it('reads a page of a search that matches most rows along the time index, and a rare one from the match', () => {
    const db = freshDb();
    const rows = DENSE_MATCHES + 100;
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insertGeneration(db, record(i, { prompt: i === 7 ? 'a lonely lighthouse' : `a red fox, variation ${i}` }));
    })();
    expect(planFor(db, { limit: 60, search: 'red fox' })).toEqual({ setSizes: [DENSE_MATCHES + 1] });
    expect(planFor(db, { limit: 60, search: 'lighthouse' })).toEqual({ setSizes: [1] });
    expect(planFor(db, { limit: 60, search: 'variation 2005' })).toEqual({ setSizes: [DENSE_MATCHES + 1, 1] }); // seed 2005 is also the one prompt with 2005
    // Dense: along the time index, never sorting every match.
    expect(explainListQuery(db, { limit: 60, search: 'red fox' })).toMatch(/SCAN g USING INDEX generations_by_time/);
    expect(explainListQuery(db, { limit: 60, search: 'red fox' })).not.toMatch(/TEMP B-TREE/);
    // Rare: from the matches, by rowid.
    expect(explainListQuery(db, { limit: 60, search: 'lighthouse' })).toMatch(/SEARCH g USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    expect(explainListQuery(db, { limit: 60, search: 'variation 2005' })).toMatch(/SEARCH g USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    expect(listGenerations(db, { limit: 60, search: 'variation 2005' }).rows.map((r) => r.seed)).toEqual([2005]);
    // Both plans give the same pages.
    const page = listGenerations(db, { limit: 60, search: 'red fox' });
    expect(page.rows.map((r) => r.seed)).toEqual(Array.from({ length: 60 }, (_, i) => rows - 1 - i));
    const next = listGenerations(db, { limit: 60, search: 'red fox', cursor: page.nextCursor! });
    expect(next.rows[0]!.seed).toBe(rows - 61);
    expect(listGenerations(db, { limit: 60, search: 'lighthouse' }).rows.map((r) => r.seed)).toEqual([7]);
  });

  it('counts exactly the images the pages hold, for every search and filter, rare and common words alike', () => {
    const db = freshDb();
    const rows = DENSE_MATCHES + 150;
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const prompt = i % 97 === 0 ? `a lonely lighthouse, variation ${i}` : `a red fox, variation ${i}`;
        insertGeneration(db, record(i, { prompt, modelId: i % 3 === 0 ? 'qwen' : 'demo', createdAt: 1_700_000_000_000 + i * 1000, loras: i % 5 === 0 ? ['Ink Wash'] : [] }));
      }
    })();
    for (let i = 0; i < rows; i += 7) setFavorite(db, record(i).id, true);
    /** Every row the pages give, walked to the end: what the count must equal. */
    const paged = (q: HistoryFilterQuery) => {
      let n = 0;
      let cursor: string | undefined;
      for (;;) {
        const page = listGenerations(db, { ...q, limit: 500, ...(cursor ? { cursor } : {}) });
        n += page.rows.length;
        if (!page.nextCursor) return n;
        cursor = page.nextCursor;
      }
    };
    const queries: HistoryFilterQuery[] = [
      {},
      { search: 'red fox' }, // dense: more than DENSE_MATCHES
      { search: 'lighthouse' }, // rare
      { search: 'variation 2005' }, // a dense word and a seed
      { search: 'a' }, // a short word, checked row by row
      { search: 'fox ink' }, // a prompt word and a LoRA name
      { search: 'whale' }, // nothing
      { modelId: 'qwen' },
      { favorites: true, search: 'fox' },
      { seed: 194 },
      { lora: 'Ink Wash', modelId: 'qwen' },
      { from: 1_700_000_000_000 + 100_000, to: 1_700_000_000_000 + 1_000_000 },
      { prompt: 'a red fox, variation 1' },
    ];
    for (const q of queries) expect({ q, n: countMatching(db, q) }).toEqual({ q, n: paged(q) });
    expect(countMatching(db, {})).toBe(rows);
    expect(countMatching(db, { search: 'lighthouse' })).toBe(Math.ceil(rows / 97));
    expect(countMatching(db, { search: 'red fox' })).toBe(rows - Math.ceil(rows / 97));
    // From indexes: the whole history from the smallest index, a rare word from its matches.
    expect(explainCountQuery(db, {})).toMatch(/SCAN (g|generations) USING COVERING INDEX/);
    expect(explainCountQuery(db, { search: 'lighthouse' })).toMatch(/SEARCH g USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    expect(explainCountQuery(db, { modelId: 'qwen' })).toMatch(/SEARCH g USING COVERING INDEX generations_by_model \(model_id=\?\)/);
  });

  it('marks favourites and filters by them and by seed; deletes a row', () => {
    const db = freshDb();
    for (let i = 1; i <= 3; i++) insertGeneration(db, record(i));
    expect(setFavorite(db, record(2).id, true)).toBe(true);
    expect(listGenerations(db, { limit: 10, favorites: true }).rows.map((r) => [r.seed, r.favorite])).toEqual([[2, true]]);
    expect(listGenerations(db, { limit: 10, seed: 3 }).rows.map((r) => r.seed)).toEqual([3]);
    expect(deleteGeneration(db, record(2).id)).toBe(true);
    expect(listGenerations(db, { limit: 10, favorites: true }).rows).toEqual([]);
    expect(deleteGeneration(db, record(2).id)).toBe(false);
  });

  it('filters by model and time range', () => {
    const db = freshDb();
    insertGeneration(db, record(1, { modelId: 'demo', createdAt: 1000 }));
    insertGeneration(db, record(2, { modelId: 'qwen', createdAt: 2000 }));
    insertGeneration(db, record(3, { modelId: 'qwen', createdAt: 3000 }));
    expect(listGenerations(db, { limit: 10, modelId: 'qwen' }).rows.map((r) => r.seed)).toEqual([3, 2]);
    expect(listGenerations(db, { limit: 10, from: 1500, to: 3000 }).rows.map((r) => r.seed)).toEqual([2]);
    expect(countGenerations(db)).toBe(3);
  });

  it('serves the gallery pages from indexes, never a full scan and sort', () => {
    const db = freshDb();
    expect(explainListQuery(db, { limit: 60 })).toMatch(/SCAN g USING INDEX generations_by_time/);
    expect(explainListQuery(db, { limit: 60, modelId: 'demo' })).toMatch(/SEARCH g USING INDEX generations_by_model \(model_id=\?\)/);
    expect(explainListQuery(db, { limit: 60, search: 'red fox' })).toMatch(/VIRTUAL TABLE INDEX/);
    expect(explainListQuery(db, { limit: 60, favorites: true })).toMatch(/USING INDEX generations_favorites/);
    for (const q of [{ limit: 60 }, { limit: 60, modelId: 'demo' }, { limit: 60, favorites: true }]) expect(explainListQuery(db, q)).not.toMatch(/TEMP B-TREE/);
  });
});
