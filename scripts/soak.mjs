// `npm run soak`: faults as numbers. Runs `studio serve` with concurrent WebSocket clients that generate,
// search, export and download (from a local stand-in for Hugging Face), and SIGKILLs the worker or the
// server at random points during generation, saving, export and downloads; restarts what was killed and
// checks every time: PRAGMA integrity_check, every row's image and thumbnail on disk, every image a
// client was told was saved still there, no half-written files left after a restart, and a new image
// made afterwards (the queue recovers). Prints the counts; exits 1 when any check failed.
//
//   npm run soak [-- --faults 100] [--minutes 30] [--clients 3] [--seed 1]
//
// Linux and macOS (it finds the worker with pgrep). Needs `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const { WebSocket } = require('ws');

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { faults: { type: 'string' }, minutes: { type: 'string' }, clients: { type: 'string' }, seed: { type: 'string' }, keep: { type: 'boolean' } } });
const FAULTS = Number(args.faults ?? 100);
const DEADLINE = Date.now() + Number(args.minutes ?? 30) * 60_000;
const CLIENTS = Number(args.clients ?? 3);

// A small seeded generator: the same --seed gives the same choices (the timing of a loaded machine does not).
let rng = Number(args.seed ?? 1) >>> 0 || 1;
const random = () => ((rng = (Math.imul(rng ^ (rng >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
const pick = (list) => list[Math.floor(random() * list.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (!existsSync(path.join(ROOT, 'dist', 'app', 'main', 'cli.js'))) {
  console.error('soak: not built; run npm run build');
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------------
// A stand-in for Hugging Face: the Lightning repository with four LoRA files of a few MB, served slowly
// enough that a kill lands in the middle of a download.

function safetensorsLora(blocks, rank) {
  const header = {};
  let offset = 0;
  for (let i = 0; i < blocks; i++) {
    for (const [suffix, shape] of [['lora_down.weight', [rank, 3072]], ['lora_up.weight', [3072, rank]]]) {
      const bytes = shape[0] * shape[1] * 4;
      header[`transformer_blocks.${i}.attn.to_q.${suffix}`] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(offset)]);
}

const LIGHTNING = ['4steps-V1.0', '8steps-V1.0', '4steps-V2.0', '8steps-V2.0'].map((v, i) => ({
  entryId: `qwen-image-lightning-${v.replace('steps', 'step').toLowerCase()}`,
  file: `Qwen-Image-Lightning-${v}.safetensors`,
  bytes: safetensorsLora(40 + 8 * i, 4),
}));
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

async function startHub(bytesPerSecond) {
  const repo = 'lightx2v/Qwen-Image-Lightning';
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === `/api/models/${repo}/tree/main`) {
      const list = LIGHTNING.map((l) => ({ type: 'file', path: l.file, size: l.bytes.length, oid: 'x', lfs: { oid: sha256(l.bytes), size: l.bytes.length } }));
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(list));
    }
    const m = new RegExp(`^/${repo}/resolve/main/(.+)$`).exec(url.pathname);
    const file = m && LIGHTNING.find((l) => l.file === decodeURIComponent(m[1]));
    if (!file) return void res.writeHead(404).end();
    const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = r ? Number(r[1]) : 0;
    const end = r && r[2] ? Math.min(Number(r[2]), file.bytes.length - 1) : file.bytes.length - 1;
    const body = file.bytes.subarray(start, end + 1);
    res.writeHead(r ? 206 : 200, { 'Content-Length': String(body.length), ETag: `"${sha256(file.bytes)}"`, 'Accept-Ranges': 'bytes', ...(r ? { 'Content-Range': `bytes ${start}-${end}/${file.bytes.length}` } : {}) });
    const chunk = Math.max(16 * 1024, Math.floor(bytesPerSecond / 20));
    for (let i = 0; i < body.length && !res.destroyed; i += chunk) {
      res.write(body.subarray(i, i + chunk));
      await sleep(50);
    }
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => (server.closeAllConnections(), new Promise((r) => server.close(r))) };
}

// ---------------------------------------------------------------------------------------------------
// The server under test, and clients speaking its WebSocket protocol as the page does.

const dataDir = mkdtempSync(path.join(tmpdir(), 'studio-soak-'));
const counts = {
  faults: { 'worker during generation': 0, 'server during generation': 0, 'server during saving': 0, 'server during export': 0, 'server during download': 0 },
  triggersMissed: 0,
  serverStarts: 0,
  jobsSucceeded: 0,
  jobsFailed: 0,
  exportsDone: 0,
  downloadsDone: 0,
  checks: 0,
  integrityFailures: 0,
  rowsWithoutFiles: 0,
  filesLost: 0,
  halfWrittenAtKill: 0,
  partialFilesLeft: 0,
  brokenExports: 0,
  corruptDownloads: 0,
  recoveryFailures: 0,
};
const problems = [];

class Server {
  constructor(hubUrl) {
    this.hubUrl = hubUrl;
  }

  async start() {
    counts.serverStarts++;
    const env = { ...process.env, STUDIO_DATA_DIR: dataDir, STUDIO_THREADS: '1', HF_ENDPOINT: this.hubUrl, HF_HUB_CACHE: path.join(dataDir, '.no-hf-cache') };
    this.child = spawn(process.execPath, [path.join(ROOT, 'bin', 'studio.js'), 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
    let out = '';
    this.child.stderr.on('data', (d) => (this.stderr = `${this.stderr ?? ''}${d}`.slice(-4000)));
    const launch = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`studio serve did not start within 60 s: ${out}${this.stderr ?? ''}`)), 60_000);
      this.child.stdout.on('data', (d) => {
        out += d;
        const m = /(http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+))/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ port: Number(m[2]), token: m[3] });
        }
      });
      this.child.once('exit', (code) => reject(new Error(`studio serve exited with ${code} while starting: ${out}${this.stderr ?? ''}`)));
    });
    this.port = launch.port;
    this.token = launch.token;
    this.pid = this.child.pid;
  }

  workerPid() {
    const r = spawnSync('pgrep', ['-P', String(this.pid)], { encoding: 'utf8' });
    return r.stdout.split('\n').map(Number).find((n) => n > 0);
  }

  async kill() {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

class Client {
  constructor(server, name) {
    this.server = server;
    this.name = name;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
  }

  async connect() {
    const { port, token } = this.server;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api`, ['studio', `studio.token.${token}`], { origin: `http://127.0.0.1:${port}` });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.kind === 'result') {
        this.pending.get(msg.id)?.(msg.result);
        this.pending.delete(msg.id);
      } else for (const l of this.listeners) l(msg.name, msg.payload);
    });
    ws.on('close', () => {
      for (const settle of this.pending.values()) settle({ ok: false, error: { code: 'connection-lost' } });
      this.pending.clear();
      for (const l of this.listeners) l('closed', null);
    });
    ws.on('error', () => undefined);
    this.ws = ws;
  }

  invoke(method, params) {
    if (this.ws?.readyState !== WebSocket.OPEN) return Promise.resolve({ ok: false, error: { code: 'connection-lost' } });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ kind: 'invoke', id, method, params }));
    });
  }

  /** Resolves with the first event `match` accepts, or 'closed' when the connection ends, or 'timeout'. */
  waitFor(match, ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done('timeout'), ms);
      const listener = (name, payload) => {
        if (name === 'closed') return done('closed');
        const r = match(name, payload);
        if (r !== undefined) done(r);
      };
      const done = (r) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(r);
      };
      this.listeners.add(listener);
    });
  }

  close() {
    this.ws?.terminate();
  }
}

// ---------------------------------------------------------------------------------------------------
// The workload: each client makes images, searches, exports and downloads, over and over.

const WORDS = ['fox', 'lighthouse', 'snow', 'harbour', '山', '灯塔', 'dawn', 'neon', 'forest', 'whale', 'ramen', 'knight'];
const told = new Set(); // ids of images a client was told were saved
let paused = false;
let stopping = false;
const activity = new Set(); // listeners the fault loop uses to see what is happening

function observe(name, payload) {
  for (const l of activity) l(name, payload);
}

async function clientLoop(client) {
  let downloadTurn = LIGHTNING.indexOf(LIGHTNING[Number(client.name.slice(-1)) % LIGHTNING.length]);
  while (!stopping) {
    if (paused || client.ws?.readyState !== WebSocket.OPEN) {
      await sleep(100);
      continue;
    }
    const action = pick(['generate', 'generate', 'generate', 'generate', 'export', 'download', 'search']);
    if (action === 'generate') {
      const prompt = `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}`;
      const size = pick([256, 256, 384, 512]);
      const r = await client.invoke('generate.start', { prompt, seed: Math.floor(random() * 2 ** 32), steps: 2 + Math.floor(random() * 6), width: size, height: size, format: pick(['png', 'jpeg95', 'jpeg80']) });
      if (!r.ok) continue;
      const end = await client.waitFor((name, e) => (name === 'job' && e.jobId === r.value.jobId && ['succeeded', 'failed', 'cancelled'].includes(e.type) ? e : undefined), 120_000);
      if (end?.type === 'succeeded') {
        told.add(end.generation.id);
        counts.jobsSucceeded++;
      } else if (end?.type === 'failed') counts.jobsFailed++;
    } else if (action === 'export') {
      const page = await client.invoke('history.list', { limit: 40 });
      if (!page.ok || page.value.items.length === 0) continue;
      const ids = page.value.items.filter(() => random() < 0.7).map((i) => i.id);
      const r = await client.invoke('export.start', { ids, kind: pick(['zip', 'folder']) });
      if (!r.ok) continue;
      const end = await client.waitFor((name, e) => (name === 'export' && e.id === r.value.id && e.status !== 'running' ? e : undefined), 120_000);
      if (end?.status === 'done') counts.exportsDone++;
    } else if (action === 'download') {
      const entry = LIGHTNING[downloadTurn++ % LIGHTNING.length];
      const r = await client.invoke('downloads.start', { entryId: entry.entryId, source: 'huggingface' });
      if (!r.ok) continue;
      const end = await client.waitFor((name, e) => (name === 'download' && e.id === r.value.id && e.status !== 'running' ? e : undefined), 120_000);
      if (end?.status === 'done') counts.downloadsDone++;
    } else {
      await client.invoke('history.list', { limit: 60, search: `${pick(WORDS)} ${pick(WORDS)}` });
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The checks, after every fault.

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f)));
}

function checkData({ serverDown }) {
  counts.checks++;
  const db = new Database(path.join(dataDir, 'studio.db'), { readonly: true, fileMustExist: true });
  try {
    const integrity = db.prepare('PRAGMA integrity_check').pluck().all();
    if (integrity.length !== 1 || integrity[0] !== 'ok') {
      counts.integrityFailures++;
      problems.push(`integrity_check: ${integrity.slice(0, 3).join('; ')}`);
    }
    const rows = db.prepare('SELECT id, image_file, thumb_file FROM generations').all();
    const ids = new Set(rows.map((r) => r.id));
    for (const r of rows) {
      if (!existsSync(path.join(dataDir, 'images', r.image_file)) || !existsSync(path.join(dataDir, 'thumbs', r.thumb_file))) {
        counts.rowsWithoutFiles++;
        problems.push(`row ${r.id} without its files`);
      }
    }
    for (const id of told) {
      if (!ids.has(id)) {
        counts.filesLost++;
        problems.push(`image ${id} was reported saved, then gone from the history`);
        told.delete(id);
      }
    }
  } finally {
    db.close();
  }
  // Half-written files are swept when a server starts; while one runs, its writes in progress are not leftovers.
  if (!serverDown) return;
  const leftovers = [...walk(path.join(dataDir, 'images')), ...walk(path.join(dataDir, 'thumbs')), ...walk(path.join(dataDir, 'exports'))].filter((f) => /\.partial$/.test(f) || /\.partial\//.test(f));
  // Evidence that kills land mid-write: what the server was writing when it died (swept at the next start).
  counts.halfWrittenAtKill += leftovers.length;
  return leftovers;
}

function checkAfterRestart(leftoversBefore) {
  // What was half-written when the server died must be gone now that it has started again.
  for (const f of leftoversBefore ?? []) {
    if (existsSync(f)) {
      counts.partialFilesLeft++;
      problems.push(`left after restart: ${path.relative(dataDir, f)}`);
    }
  }
  // Every export under its final name is complete.
  for (const name of existsSync(path.join(dataDir, 'exports')) ? readdirSync(path.join(dataDir, 'exports')) : []) {
    if (name.endsWith('.partial')) continue;
    const full = path.join(dataDir, 'exports', name);
    const ok = name.endsWith('.zip') ? readFileSync(full).subarray(-22).readUInt32LE(0) === 0x06054b50 : existsSync(path.join(full, 'recipes.csv'));
    if (!ok) {
      counts.brokenExports++;
      problems.push(`incomplete export under its final name: ${name}`);
    }
  }
  // Every installed LoRA file is byte-identical to the hub's.
  const folder = path.join(dataDir, 'models', 'lightx2v--Qwen-Image-Lightning');
  for (const l of LIGHTNING) {
    const f = path.join(folder, l.file);
    if (existsSync(f) && sha256(readFileSync(f)) !== sha256(l.bytes)) {
      counts.corruptDownloads++;
      problems.push(`downloaded ${l.file} differs from the hub's`);
    }
    // Marked installed means the file is there.
    if (existsSync(path.join(folder, `.studio-complete-${l.entryId}`)) && !existsSync(f)) {
      counts.corruptDownloads++;
      problems.push(`${l.entryId} is marked installed but ${l.file} is missing`);
    }
  }
}

/**
 * Once every Lightning file is installed there is nothing left to download (and to interrupt): while the
 * server is down, two finished ones are removed (file and installed marker; partial downloads stay).
 */
function forgetSomeDownloads() {
  const folder = path.join(dataDir, 'models', 'lightx2v--Qwen-Image-Lightning');
  const installed = LIGHTNING.filter((l) => existsSync(path.join(folder, l.file)));
  if (installed.length < LIGHTNING.length) return;
  for (const l of installed.slice(0, 2)) {
    if (process.env.SOAK_DEBUG) console.log(`soak: forgetting ${l.file}`);
    rmSync(path.join(folder, l.file), { force: true });
    rmSync(path.join(folder, `.studio-complete-${l.entryId}`), { force: true });
  }
}

/** The queue recovers: a new image is made within a minute. */
async function probe(client) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const r = await client.invoke('generate.start', { prompt: 'recovery probe', seed: 1, steps: 1, width: 256, height: 256, format: 'jpeg80' });
    if (r.ok) {
      const end = await client.waitFor((name, e) => (name === 'job' && e.jobId === r.value.jobId && ['succeeded', 'failed', 'cancelled'].includes(e.type) ? e : undefined), 90_000);
      if (end?.type === 'succeeded') {
        told.add(end.generation.id);
        return true;
      }
    }
    await sleep(500);
  }
  counts.recoveryFailures++;
  problems.push('no image could be made within 90 s after a fault');
  return false;
}

// ---------------------------------------------------------------------------------------------------
// The faults.

const KINDS = ['worker during generation', 'server during generation', 'server during saving', 'server during export', 'server during download'];

/** Waits until the workload is at the point a fault kind aims at; undefined when it does not come. */
function trigger(kind, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), ms);
    const listener = (name, e) => {
      if (kind.endsWith('generation') && name === 'job' && e.type === 'progress' && e.progress.phase === 'denoising') done(random() * 400);
      else if (kind.endsWith('saving') && name === 'job' && e.type === 'progress' && e.progress.phase === 'saving') done(0);
      else if (kind.endsWith('export') && name === 'export' && e.status === 'running' && e.done > 0 && e.done < e.total) done(random() * 100);
      else if (kind.endsWith('download') && name === 'download' && e.status === 'running' && e.progress && e.progress.bytes > 0 && e.progress.bytes < e.progress.total) done(random() * 500);
    };
    const done = (delay) => {
      clearTimeout(timer);
      activity.delete(listener);
      resolve(delay);
    };
    activity.add(listener);
  });
}

async function connectAll(clients) {
  for (const c of clients) {
    c.server = server;
    await c.connect();
  }
}

const hub = await startHub(3 * 1024 * 1024);
let server = new Server(hub.url);
// Whatever happens to the soak itself, the server it started (and so its worker) does not outlive it.
process.on('exit', () => server?.child?.kill('SIGKILL'));
process.on('uncaughtException', (e) => {
  console.error(e);
  process.exit(1);
});
await server.start();
const clients = Array.from({ length: CLIENTS }, (_, i) => new Client(server, `client${i}`));
const prober = new Client(server, 'probe');
await connectAll([...clients, prober]);
for (const c of [...clients, prober]) c.listeners.add(observe);
const loops = clients.map((c) => clientLoop(c));
const started = Date.now();
let total = 0;

console.log(`soak: ${FAULTS} faults, ${CLIENTS} clients, data in ${dataDir}`);
for (let i = 0; total < FAULTS && Date.now() < DEADLINE; i++) {
  const kind = KINDS[i % KINDS.length];
  const delay = await trigger(kind, 30_000);
  if (delay === undefined) {
    counts.triggersMissed++;
    continue;
  }
  await sleep(delay);
  if (kind.startsWith('worker')) {
    const pid = server.workerPid();
    if (!pid) {
      counts.triggersMissed++;
      continue;
    }
    process.kill(pid, 'SIGKILL');
    counts.faults[kind]++;
    total++;
    await probe(prober);
    checkData({ serverDown: false });
  } else {
    paused = true;
    await server.kill();
    counts.faults[kind]++;
    total++;
    const leftovers = checkData({ serverDown: true });
    if (process.env.SOAK_DEBUG) console.log(`soak: killed server (${kind}); models: ${walk(path.join(dataDir, 'models')).map((f) => path.basename(f)).join(' ')}`);
    forgetSomeDownloads();
    // The next start, on the data as the kill left it.
    server = new Server(hub.url);
    await server.start();
    checkAfterRestart(leftovers);
    await connectAll([...clients, prober]);
    paused = false;
    await probe(prober);
    checkData({ serverDown: false });
  }
  if (total % 10 === 0) console.log(`soak: ${total} faults, ${Math.round((Date.now() - started) / 1000)} s, problems so far: ${problems.length}`);
}

stopping = true;
await Promise.race([Promise.all(loops), sleep(5000)]);
for (const c of [...clients, prober]) c.close();
await server.kill();
const leftovers = checkData({ serverDown: true });
server = new Server(hub.url);
await server.start();
checkAfterRestart(leftovers);
await server.kill();
await hub.close();

const seconds = Math.round((Date.now() - started) / 1000);
console.log(`\nsoak: ${total} SIGKILL faults in ${seconds} s (${counts.serverStarts} server starts)`);
console.table(Object.entries(counts.faults).map(([fault, n]) => ({ fault, n })));
const { faults: _f, ...rest } = counts;
console.table(Object.entries(rest).map(([count, n]) => ({ count, n })));
for (const p of problems.slice(0, 30)) console.log(`  problem: ${p}`);
if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
const failed = counts.integrityFailures + counts.rowsWithoutFiles + counts.filesLost + counts.partialFilesLeft + counts.brokenExports + counts.corruptDownloads + counts.recoveryFailures;
process.exit(failed === 0 && total >= FAULTS ? 0 : 1);
