// Load test of the A1111-compatible API: a real `studio serve --api` on the demo model, N concurrent
// clients posting txt2img (and polling progress) for a bounded time. Prints failures, latency p50/p95 per
// endpoint, and the server's and the worker's memory before and after. Exit code 1 on any failed request.
//
//   npm run soak:api                     # 8 clients, 120 s
//   npm run soak:api -- --clients 4 --seconds 30 --size 256 --steps 2
//
// Memory is read with `ps` (Linux, macOS). The CPU is shared with whatever else runs: timings are noisy.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '120' },
    size: { type: 'string', default: '256' },
    steps: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const size = Number(values.size);
const steps = Number(values.steps);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resident memory in MB of a process and, when given, its child running `childMatch`. */
function memory(pid, childMatch) {
  try {
    const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(l))
      .filter(Boolean)
      .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), rssMb: Number(m[3]) / 1024, args: m[4] }));
    const server = rows.find((r) => r.pid === pid);
    const worker = rows.find((r) => r.ppid === pid && r.args.includes(childMatch));
    return { server: server?.rssMb ?? NaN, worker: worker?.rssMb ?? NaN };
  } catch {
    return { server: NaN, worker: NaN };
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const apiPort = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'studio-soak-api-'));
const child = spawn(process.execPath, [join(root, 'bin', 'studio.js'), 'serve', '--port', '0', '--api', '--api-port', String(apiPort)], {
  env: { ...process.env, STUDIO_DATA_DIR: dataDir, STUDIO_THREADS: values.threads },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += String(d);
    const m = /A1111-compatible API: (http:\/\/127\.0\.0\.1:\d+)\/sdapi\/v1/.exec(out);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`studio serve exited with ${code}: ${out}`)));
});

const failures = [];
const latencies = { txt2img: [], progress: [] };
let images = 0;

async function txt2img(client, n) {
  const seed = (client + 1) * 1_000_000 + n;
  const t0 = performance.now();
  const res = await fetch(`${base}/sdapi/v1/txt2img`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: `soak client ${client} image ${n}, a lighthouse`, seed, steps, width: size, height: size, sampler_name: 'Euler' }),
  });
  const text = await res.text();
  latencies.txt2img.push(performance.now() - t0);
  if (res.status !== 200) throw new Error(`txt2img ${res.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text);
  const png = Buffer.from(body.images?.[0] ?? '', 'base64');
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('txt2img: the image is not a PNG');
  if (JSON.parse(body.info).seed !== seed) throw new Error(`txt2img: info.seed is not ${seed}`);
  images++;
}

async function progress() {
  const t0 = performance.now();
  const res = await fetch(`${base}/sdapi/v1/progress?skip_current_image=true`);
  const text = await res.text();
  latencies.progress.push(performance.now() - t0);
  if (res.status !== 200) throw new Error(`progress ${res.status}: ${text.slice(0, 200)}`);
  JSON.parse(text);
}

// Whatever goes wrong, the server started here does not outlive the script.
const stopServer = () => {
  if (child.exitCode === null) child.kill('SIGTERM');
};
process.on('exit', stopServer);
process.on('uncaughtException', (e) => {
  console.error(`soak:api: ${e.stack ?? e}`);
  stopServer();
  process.exit(2);
});

// Warm-up: the worker starts and loads the model once, before anything is measured.
await txt2img(-1, 0);
latencies.txt2img.length = 0;
images = 0;
const before = memory(child.pid, 'worker-main');
const deadline = Date.now() + seconds * 1000;
const started = performance.now();
process.stderr.write(`soak:api: ${clients} clients for ${seconds} s against ${base} (demo model, ${size}x${size}, ${steps} steps)\n`);

await Promise.all(
  Array.from({ length: clients }, async (_, client) => {
    for (let n = 0; Date.now() < deadline; n++) {
      try {
        await txt2img(client, n);
        await progress();
      } catch (e) {
        failures.push(`client ${client}: ${e.message}`);
      }
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
const after = memory(child.pid, 'worker-main');

await new Promise((resolve) => {
  child.once('exit', resolve);
  child.kill('SIGTERM');
});
rmSync(dataDir, { recursive: true, force: true });

const fmt = (n) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
console.log(`\nsoak:api  ${clients} clients, ${elapsed.toFixed(0)} s, ${images} images (${(images / elapsed).toFixed(2)}/s), ${failures.length} failed requests\n`);
console.log('| endpoint | requests | p50 ms | p95 ms | max ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, list] of Object.entries(latencies)) {
  const sorted = [...list].sort((a, b) => a - b);
  console.log(`| ${name} | ${sorted.length} | ${fmt(percentile(sorted, 50))} | ${fmt(percentile(sorted, 95))} | ${fmt(sorted[sorted.length - 1])} |`);
}
console.log('\n| process | RSS before MB | RSS after MB |');
console.log('| --- | ---: | ---: |');
console.log(`| server | ${fmt(before.server)} | ${fmt(after.server)} |`);
console.log(`| worker | ${fmt(before.worker)} | ${fmt(after.worker)} |`);
for (const f of failures.slice(0, 20)) console.log(`failed: ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
