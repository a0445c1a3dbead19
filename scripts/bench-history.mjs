// Benchmark: history queries at 100,000 rows (p50/p95), the gallery's hot paths. Prints a table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../dist/app/main/store/database.js';
import { insertGeneration, listGenerations } from '../dist/app/main/store/generations.js';
import { LIGHTNING_SAMPLER } from '../dist/app/shared/flow-match.js';

const ROWS = Number(process.env.ROWS ?? 100_000);
const RUNS = 200;
const dir = mkdtempSync(join(tmpdir(), 'bench-history-'));
const db = openDatabase(join(dir, 'studio.db'));

const subjects = ['a red fox', 'a blue whale', 'an old lighthouse', '一只红色的狐狸', '雪山上的小屋', 'a cyberpunk street', 'a bowl of ramen', 'portrait of a knight'];
const details = ['at dawn', 'in the snow', 'watercolor', 'cinematic lighting', '油画风格', '晨光', 'ultra detailed', 'studio photo'];
const t0 = performance.now();
const insertAll = db.transaction(() => {
  for (let i = 0; i < ROWS; i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const prompt = `${subjects[i % subjects.length]}, ${details[(i * 7) % details.length]}, variation ${i}`;
    insertGeneration(db, {
      id,
      createdAt: 1_700_000_000_000 + i * 60_000,
      recipe: { prompt, negativePrompt: '', seed: i, steps: 4, guidance: 1, width: 1024, height: 1024, modelId: i % 3 ? 'qwen-image' : 'demo', modelName: 'm', modelHashes: [], loras: [], sampler: LIGHTNING_SAMPLER, appVersion: '0', device: 'cpu' },
      durations: { loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, saveMs: 0, totalMs: 0 },
      format: 'jpeg95',
      imageFile: `x/${id}.jpg`,
      thumbFile: `x/${id}.webp`,
    });
  }
});
insertAll();
const insertMs = performance.now() - t0;

function measure(label, query) {
  const times = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now();
    rows = query(i).rows.length;
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(3);
  return { query: label, rows, p50_ms: pct(50), p95_ms: pct(95) };
}

// A cursor 50 pages (3,000 rows) down, as after long scrolling.
let deep = listGenerations(db, { limit: 60 });
for (let i = 0; i < 50; i++) deep = listGenerations(db, { limit: 60, cursor: deep.nextCursor });
const deepCursor = deep.nextCursor;

const results = [
  measure('latest page (60)', () => listGenerations(db, { limit: 60 })),
  measure('page 51 by cursor', () => listGenerations(db, { limit: 60, cursor: deepCursor })),
  measure('filter by model', () => listGenerations(db, { limit: 60, modelId: 'demo' })),
  measure('search "red fox" (12,500 matches)', () => listGenerations(db, { limit: 60, search: 'red fox' })),
  measure('search "snow fox red" (words in any order)', () => listGenerations(db, { limit: 60, search: 'snow fox red' })),
  measure('search "lighthouse dawn" (page 2)', () => listGenerations(db, { limit: 60, search: 'lighthouse dawn', cursor: listGenerations(db, { limit: 60, search: 'lighthouse dawn' }).nextCursor })),
  measure('search "77777" (a seed)', () => listGenerations(db, { limit: 60, search: '77777' })),
  measure('search "红色的" (FTS trigram)', () => listGenerations(db, { limit: 60, search: '红色的' })),
  measure('search "variation 9999"', () => listGenerations(db, { limit: 60, search: 'variation 9999' })),
  measure('search "狐" (1 char, LIKE scan)', () => listGenerations(db, { limit: 60, search: '狐' })),
  measure('date range (one day)', () => listGenerations(db, { limit: 60, from: 1_700_000_000_000 + 50_000 * 60_000, to: 1_700_000_000_000 + 51_440 * 60_000 })),
];
db.close();
rmSync(dir, { recursive: true, force: true });
console.log(`history benchmark: ${ROWS} rows inserted in ${(insertMs / 1000).toFixed(2)} s, ${RUNS} runs per query`);
console.table(results);
