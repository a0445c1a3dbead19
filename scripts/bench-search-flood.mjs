// Benchmark: a flood of history searches that match every row, against a real `studio serve` with 33,000
// images in its history (the attack that timed out 3,736 of 5,000 requests when such searches took
// ~100 ms each on the main thread). Sends N searches at once over one WebSocket, while a second client
// asks app.info every 50 ms; prints the search latencies and how long the server kept others waiting.
//   npm run bench:flood [-- --rows 33000 --requests 5000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openDatabase } from '../dist/app/main/store/database.js';
import { insertGeneration } from '../dist/app/main/store/generations.js';
import { LIGHTNING_SAMPLER } from '../dist/app/shared/flow-match.js';

const { WebSocket } = createRequire(import.meta.url)('ws');
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { rows: { type: 'string' }, requests: { type: 'string' } } });
const ROWS = Number(values.rows ?? 33_000);
const REQUESTS = Number(values.requests ?? 5_000);

const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-flood-'));
const db = openDatabase(path.join(dataDir, 'studio.db'));
db.transaction(() => {
  for (let i = 0; i < ROWS; i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    insertGeneration(db, {
      id,
      createdAt: 1_700_000_000_000 + i * 60_000,
      recipe: { prompt: `a portrait of a traveller, variation ${i}`, negativePrompt: '', seed: i, steps: 4, guidance: 1, width: 1024, height: 1024, modelId: 'demo', modelName: 'm', modelHashes: [], loras: [], sampler: LIGHTNING_SAMPLER, appVersion: '0', device: 'cpu' },
      durations: { loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, saveMs: 0, totalMs: 0 },
      format: 'jpeg95',
      imageFile: `x/${id}.jpg`,
      thumbFile: `x/${id}.webp`,
    });
  }
})();
db.close();

const server = spawn(process.execPath, [path.join(ROOT, 'bin', 'studio.js'), 'serve', '--port', '0'], { env: { ...process.env, STUDIO_DATA_DIR: dataDir, HF_HUB_CACHE: path.join(dataDir, 'none') }, stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => server.kill('SIGKILL'));
const { port, token } = await new Promise((resolve) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /127\.0\.0\.1:(\d+)\/\?token=(\S+)/.exec(out);
    if (m) resolve({ port: Number(m[1]), token: m[2] });
  });
});

async function client() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api`, ['studio', `studio.token.${token}`], { origin: `http://127.0.0.1:${port}` });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const pending = new Map();
  let next = 1;
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    if (m.kind !== 'result') return;
    pending.get(m.id)?.(m.result);
    pending.delete(m.id);
  });
  return (method, params) => new Promise((resolve) => {
    const id = next++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ kind: 'invoke', id, method, params }));
  });
}

const flood = await client();
const other = await client();
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))].toFixed(1);
const rows = [];
// The gallery's exact count (history.count) of the same searches: one COUNT over every match.
const cases = [
  ['variation', 'variation', false, 'history.list'],
  ['traveller portrait', 'traveller portrait', false, 'history.list'],
  ['a (one letter)', 'a', false, 'history.list'],
  ['traveller portrait, all different', 'traveller portrait', true, 'history.list'],
  ['count: traveller portrait', 'traveller portrait', false, 'history.count'],
  ['count: traveller portrait, all different', 'traveller portrait', true, 'history.count'],
  ['count: a (one letter), all different', 'a', true, 'history.count'],
  ['count: everything, all different', '', true, 'history.count'],
];
for (const [label, search, distinct, method] of cases) {
  const waits = [];
  let stop = false;
  const probe = (async () => {
    while (!stop) {
      const t = performance.now();
      await other('app.info', {});
      waits.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t0 = performance.now();
  const times = await Promise.all(Array.from({ length: REQUESTS }, async (_, i) => {
    // "all different": each request its own query (a from-date that every row passes), so none is shared or cached.
    const filters = { ...(search ? { search } : {}), ...(distinct ? { from: i } : {}) };
    if (method === 'history.count') {
      const r = await flood(method, filters);
      if (!r.ok || r.value.count !== ROWS) throw new Error(`count failed: ${JSON.stringify(r).slice(0, 200)}`);
    } else {
      const r = await flood(method, { limit: 60, ...filters });
      if (!r.ok || r.value.items.length !== 60) throw new Error(`search failed: ${JSON.stringify(r).slice(0, 200)}`);
    }
    return performance.now() - t0;
  }));
  stop = true;
  await probe;
  times.sort((a, b) => a - b);
  waits.sort((a, b) => a - b);
  rows.push({ query: label, requests: REQUESTS, all_answered_s: (times.at(-1) / 1000).toFixed(2), over_5s: times.filter((t) => t > 5000).length, over_10s: times.filter((t) => t > 10_000).length, per_search_ms: (times.at(-1) / REQUESTS).toFixed(2), other_p50_ms: pct(waits, 50), other_max_ms: waits.at(-1).toFixed(1) });
}
server.kill('SIGKILL');
rmSync(dataDir, { recursive: true, force: true });
console.log(`search flood: ${REQUESTS} searches (pages of 60, or the exact count) matching every one of ${ROWS} rows, sent at once over one socket; app.info from a second client meanwhile (other_*: its waits)`);
console.table(rows);
process.exit(0);
