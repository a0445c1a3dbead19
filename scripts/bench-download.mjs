// Benchmark: download throughput against a local Hugging Face-style server on 127.0.0.1, the studio's
// downloader (several connections, resumable state, sha256 while streaming) against a plain
// single-stream copy that also hashes. Prints a table.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pullRepository } from '../dist/app/main/library/pull.js';

const SIZE = Number(process.env.MB ?? 512) * 1024 * 1024;
const body = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
const sha256 = createHash('sha256').update(body).digest('hex');
const path = 'transformer/diffusion_pytorch_model.safetensors';

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/api/models/bench/repo/tree/main') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify([{ type: 'file', path, size: SIZE, lfs: { oid: sha256, size: SIZE } }]));
  }
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  const end = m && m[2] ? Number(m[2]) : SIZE - 1;
  res.writeHead(m ? 206 : 200, { 'Content-Length': String(end - start + 1), ETag: `"${sha256}"` });
  res.end(body.subarray(start, end + 1));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${server.address().port}`;

const rows = [];
const mbps = (ms) => ((SIZE / 1024 / 1024) / (ms / 1000)).toFixed(0);
for (let run = 0; run < 2; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dl-'));
  let t = performance.now();
  const res = await fetch(`${endpoint}/bench/repo/resolve/main/${path}`);
  const hash = createHash('sha256');
  const out = createWriteStream(join(dir, 'plain.bin'));
  for await (const chunk of res.body) {
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  if (hash.digest('hex') !== sha256) throw new Error('plain copy hash mismatch');
  const plainMs = performance.now() - t;
  for (const connections of [1, 4]) {
    const dest = join(dir, `studio-${connections}`);
    t = performance.now();
    await pullRepository({ repo: 'bench/repo', sources: [{ kind: 'huggingface', endpoint, label: 'bench' }], dest, useHubCache: false, download: { connections, splitAbove: 16 * 1024 * 1024 } });
    rows.push({ run: run + 1, method: `studio downloader, ${connections} connection(s), sha256 + resumable state`, MB_per_s: mbps(performance.now() - t) });
  }
  rows.push({ run: run + 1, method: 'plain single-stream copy, sha256', MB_per_s: mbps(plainMs) });
  rmSync(dir, { recursive: true, force: true });
}
server.close();
console.log(`download benchmark: ${SIZE / 1024 / 1024} MB file from a local server on 127.0.0.1 (loopback, no network limits)`);
console.table(rows);
