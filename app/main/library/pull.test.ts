import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appRoot } from '../paths.js';
import { deterministicBytes, startFakeHub, type FakeHub, type FakeRepo } from '../test-support/fake-hub.js';
import type { HubSource } from './hub-client.js';
import { pullRepository, RepositoryDownload, type PullOptions } from './pull.js';

const BIG = 'transformer/diffusion_pytorch_model.safetensors';
const repo: FakeRepo = {
  files: {
    [BIG]: deterministicBytes(3 * 1024 * 1024 + 123, 7),
    'transformer/config.json': Buffer.from('{"num_layers": 2}'),
    'model_index.json': Buffer.from('{"_class_name": "QwenImagePipeline"}'),
    'README.md': Buffer.from('# not needed'),
  },
  lfs: [BIG],
};
const include = ['model_index.json', 'transformer/*'];

describe('pulling a repository from a hub', () => {
  let hub: FakeHub;
  let hf: HubSource;
  let ms: HubSource;
  beforeEach(async () => {
    hub = await startFakeHub({ 'Qwen/Tiny': repo });
    hf = { kind: 'huggingface', endpoint: hub.url, label: 'test HF' };
    ms = { kind: 'modelscope', endpoint: hub.url, label: 'test ModelScope' };
  });
  afterEach(() => hub.close());

  const pull = (extra: Partial<PullOptions> = {}) => {
    const dest = mkdtempSync(join(tmpdir(), 'pull-'));
    return pullRepository({
      repo: 'Qwen/Tiny',
      useHubCache: false,
      sources: [hf],
      include,
      dest,
      download: { connections: 4, splitAbove: 256 * 1024, retryBaseMs: 20, stallMs: 400 },
      ...extra,
    }).then((r) => ({ ...r, dest }));
  };

  function expectIdentical(dest: string): void {
    for (const path of [BIG, 'transformer/config.json', 'model_index.json']) {
      expect(readFileSync(join(dest, path)).equals(repo.files[path]!), path).toBe(true);
    }
    expect(existsSync(join(dest, 'README.md'))).toBe(false);
    const leftovers = readdirSync(dest, { recursive: true }).map(String).filter((f) => f.includes('.studio-part'));
    expect(leftovers).toEqual([]);
  }

  it('downloads only the needed files, several ranges at once, following the redirect to the file host', async () => {
    const progress: number[] = [];
    const { dest, files } = await pull({ onProgress: (p) => progress.push(p.bytes) });
    expectIdentical(dest);
    expect(files.map((f) => f.status)).toEqual(['downloaded', 'downloaded', 'downloaded']);
    const ranges = hub.requests.filter((r) => r.host === 'cdn' && r.path === BIG);
    expect(ranges.length).toBe(4);
    expect(progress.at(-1)).toBe(repo.files[BIG]!.length + 17 + 36);
    // A second pull finds everything present.
    const again = await pullRepository({ repo: 'Qwen/Tiny', sources: [hf], include, dest });
    expect(again.files.every((f) => f.status === 'present')).toBe(true);
  });

  it('downloads from ModelScope with its own listing and sha256', async () => {
    const { dest } = await pull({ sources: [ms] });
    expectIdentical(dest);
  });

  it.each([
    ['a connection dropped mid-file', { drop: { afterBytes: 100_000, times: 2 } }],
    ['a 429 with Retry-After', { tooMany: 1 }],
    ['a burst of 500s', { serverErrors: 3 }],
    ['a truncated response', { truncate: { afterBytes: 50_000, times: 1 } }],
    ['a stalled read', { stall: { afterBytes: 10_000, ms: 3000, times: 1 } }],
    ['a corrupted byte (caught by the hash, downloaded again)', { corrupt: { offset: 2_000_000, times: 1 } }],
  ])('ends with byte-identical files after %s', async (_, fault) => {
    hub.faults.set(BIG, fault);
    const started = Date.now();
    const { dest } = await pull();
    expectIdentical(dest);
    if ('tooMany' in fault) expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    if ('drop' in fault) {
      const resumed = hub.requests.filter((r) => r.host === 'cdn' && r.path === BIG && r.range && !/^bytes=(0|786462|1572924|2359386)-/.test(r.range));
      expect(resumed.length).toBeGreaterThan(0);
    }
  });

  it('never installs a file that keeps arriving corrupted, and says why', async () => {
    hub.faults.set(BIG, { corrupt: { offset: 10, times: 99 } });
    const dest = mkdtempSync(join(tmpdir(), 'pull-'));
    await expect(pullRepository({ repo: 'Qwen/Tiny', sources: [hf], include, dest, download: { splitAbove: 256 * 1024, retryBaseMs: 20 } })).rejects.toThrow(
      /do not match the published hash .*the file was discarded, not installed/,
    );
    expect(existsSync(join(dest, BIG))).toBe(false);
    expect(readdirSync(join(dest, 'transformer')).filter((f) => f.includes('studio-part'))).toEqual([]);
  });

  it('falls back to the next source for a file one source cannot deliver', async () => {
    // Hugging Face's file host fails; ModelScope serves the same bytes.
    hub.faults.set(BIG, { serverErrors: 100, route: 'cdn' });
    const log: string[] = [];
    const dest = mkdtempSync(join(tmpdir(), 'pull-'));
    await pullRepository({ repo: 'Qwen/Tiny', sources: [hf, ms], include, dest, download: { splitAbove: 1e9, retryBaseMs: 5, maxRetries: 2 }, log: (l) => log.push(l) });
    hub.faults.delete(BIG);
    expect(log.some((l) => /test HF: gave up after 2 retries: HTTP 500; trying the next source/.test(l))).toBe(true);
    expect(readFileSync(join(dest, BIG)).equals(repo.files[BIG]!)).toBe(true);
  });

  it('checks free disk space first and says how much is missing', async () => {
    const dest = mkdtempSync(join(tmpdir(), 'pull-'));
    await expect(pullRepository({ repo: 'Qwen/Tiny', sources: [hf], include, dest, freeBytes: () => Promise.resolve(1024 * 1024) })).rejects.toThrow(
      /Not enough disk space .* the download needs 0\.0 GB, 0\.0 GB are free/,
    );
    expect(readdirSync(dest)).toEqual([]);
  });

  it('names a repository the hub does not have', async () => {
    const dest = mkdtempSync(join(tmpdir(), 'pull-'));
    await expect(pullRepository({ repo: 'Qwen/Nope', sources: [hf, ms], dest })).rejects.toThrow(/Could not list Qwen\/Nope: test HF has no such repository/);
  });

  it('uses a complete copy in the Hugging Face cache in place instead of downloading', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'hf-cache-'));
    const snapshot = join(cache, 'models--Qwen--Tiny', 'snapshots', 'abc');
    for (const path of [BIG, 'transformer/config.json', 'model_index.json']) {
      mkdirSync(dirname(join(snapshot, path)), { recursive: true });
      writeFileSync(join(snapshot, path), repo.files[path]!);
    }
    mkdirSync(join(cache, 'models--Qwen--Tiny', 'refs'));
    writeFileSync(join(cache, 'models--Qwen--Tiny', 'refs', 'main'), 'abc');
    const dest = mkdtempSync(join(tmpdir(), 'pull-'));
    const r = await pullRepository({ repo: 'Qwen/Tiny', sources: [hf], include, dest, env: { HF_HUB_CACHE: cache } });
    expect(r.dest).toBe(snapshot);
    expect(r.files.every((f) => f.status === 'present')).toBe(true);
    expect(hub.requests.filter((q) => q.host === 'cdn')).toEqual([]);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('pauses keeping the partial data, resumes from it, and cancel removes it', async () => {
    hub.faults.set(BIG, { bytesPerSecond: 2_000_000 });
    const dest = mkdtempSync(join(tmpdir(), 'pull-'));
    const download = new RepositoryDownload({ repo: 'Qwen/Tiny', sources: [hf], include, dest, download: { splitAbove: 1e9 } });
    const part = join(dest, `${BIG}.studio-part.json`);
    await expect.poll(() => existsSync(part) && (JSON.parse(readFileSync(part, 'utf8')) as { ranges: { next: number }[] }).ranges[0]!.next, { timeout: 10_000, interval: 50 }).toBeGreaterThan(300_000);
    await download.pause();
    expect(download.status).toBe('paused');
    const pausedAt = (JSON.parse(readFileSync(part, 'utf8')) as { ranges: { next: number }[] }).ranges[0]!.next;
    expect(await download.finished).toBeUndefined();
    hub.faults.delete(BIG);
    download.resume();
    expect((await download.finished)?.files.map((f) => f.status)).toEqual(['downloaded', 'downloaded', 'downloaded']);
    expect(readFileSync(join(dest, BIG)).equals(repo.files[BIG]!)).toBe(true);
    const resumed = hub.requests.filter((q) => q.host === 'cdn' && q.path === BIG).at(-1)!;
    expect(Number(/^bytes=(\d+)-/.exec(resumed.range!)![1])).toBeGreaterThanOrEqual(pausedAt);

    hub.faults.set(BIG, { bytesPerSecond: 2_000_000 });
    const dest2 = mkdtempSync(join(tmpdir(), 'pull-'));
    const other = new RepositoryDownload({ repo: 'Qwen/Tiny', sources: [hf], include, dest: dest2, download: { splitAbove: 1e9 } });
    await expect.poll(() => existsSync(join(dest2, `${BIG}.studio-part`)), { timeout: 10_000 }).toBe(true);
    await other.cancel();
    expect(other.status).toBe('cancelled');
    expect(readdirSync(join(dest2, 'transformer')).filter((f) => f.includes('studio-part'))).toEqual([]);
  });

  it('resumes after the downloading process is killed with SIGKILL, without starting over', async () => {
    hub.faults.set(BIG, { bytesPerSecond: 1_000_000 });
    const dest = mkdtempSync(join(tmpdir(), 'pull-kill-'));
    const args = [join(appRoot(), 'bin', 'studio.js'), 'pull', 'Qwen/Tiny', '--source', 'hf', '--endpoint', hub.url, '--dest', dest, '--include', 'transformer/*'];
    const first = spawn(process.execPath, args, { stdio: 'ignore' });
    const part = join(dest, `${BIG}.studio-part.json`);
    await expect.poll(() => existsSync(part) && (JSON.parse(readFileSync(part, 'utf8')) as { ranges: { start: number; next: number }[] }).ranges.reduce((a, r) => a + r.next - r.start, 0), { timeout: 20_000, interval: 100 }).toBeGreaterThan(800_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(existsSync(join(dest, BIG))).toBe(false);
    const before = hub.requests.length;
    hub.faults.delete(BIG);
    const second = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const code = await new Promise((r) => second.once('exit', r));
    expect(code).toBe(0);
    expect(readFileSync(join(dest, BIG)).equals(repo.files[BIG]!)).toBe(true);
    const after = hub.requests.slice(before).filter((r) => r.host === 'cdn' && r.path === BIG);
    // Every range resumed past its start: nothing was fetched twice from byte 0.
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => !/^bytes=0-/.test(r.range ?? ''))).toBe(true);
    expect(statSync(join(dest, BIG)).size).toBe(repo.files[BIG]!.length);
  });
});

// A diffusers folder as the hubs hold it: model_index.json names five components, the transformer is in
// two shards behind an index. Eleven files: four pages at three entries a page (the directory entry too).
function modelRepo(): FakeRepo {
  const shardA = deterministicBytes(300_000, 11);
  const shardB = deterministicBytes(200_000, 12);
  const index = {
    metadata: { total_size: shardA.length + shardB.length },
    weight_map: { 'blocks.0.w': 'diffusion_pytorch_model-00001-of-00002.safetensors', 'blocks.1.w': 'diffusion_pytorch_model-00002-of-00002.safetensors' },
  };
  const modelIndex = {
    _class_name: 'QwenImagePipeline',
    scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
    text_encoder: ['transformers', 'Qwen2_5_VLForConditionalGeneration'],
    tokenizer: ['transformers', 'Qwen2Tokenizer'],
    transformer: ['diffusers', 'QwenImageTransformer2DModel'],
    vae: ['diffusers', 'AutoencoderKLQwenImage'],
    image_processor: [null, null],
  };
  return {
    files: {
      'model_index.json': Buffer.from(JSON.stringify(modelIndex)),
      'scheduler/scheduler_config.json': Buffer.from('{"shift": 1}'),
      'text_encoder/config.json': Buffer.from('{"hidden_size": 8}'),
      'text_encoder/model.safetensors': deterministicBytes(100_000, 13),
      'tokenizer/tokenizer_config.json': Buffer.from('{}'),
      'tokenizer/vocab.json': Buffer.from('{"a": 0}'),
      'transformer/config.json': Buffer.from('{"num_layers": 2}'),
      'transformer/diffusion_pytorch_model.safetensors.index.json': Buffer.from(JSON.stringify(index)),
      'transformer/diffusion_pytorch_model-00001-of-00002.safetensors': shardA,
      'transformer/diffusion_pytorch_model-00002-of-00002.safetensors': shardB,
      'vae/config.json': Buffer.from('{"z_dim": 16}'),
      'vae/diffusion_pytorch_model.safetensors': deterministicBytes(50_000, 14),
    },
    lfs: ['text_encoder/model.safetensors', 'transformer/diffusion_pytorch_model-00001-of-00002.safetensors', 'transformer/diffusion_pytorch_model-00002-of-00002.safetensors', 'vae/diffusion_pytorch_model.safetensors'],
  };
}

describe('pulling a model whose listing comes in pages', () => {
  let hub: FakeHub;
  const model = modelRepo();
  beforeEach(async () => {
    hub = await startFakeHub({ 'Qwen/Paged': model }, { pageSize: 3 });
  });
  afterEach(() => hub.close());

  function runCli(dest: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const args = [join(appRoot(), 'bin', 'studio.js'), 'pull', 'Qwen/Paged', '--source', 'hf', '--endpoint', hub.url, '--dest', dest];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HF_HUB_CACHE: join(dest, 'no-cache') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
  }

  it('studio pull follows the Link rel="next" pages and fetches every file of the model', async () => {
    const dest = mkdtempSync(join(tmpdir(), 'pull-paged-'));
    const r = await runCli(dest);
    expect(r.stderr).not.toMatch(/not a complete model/);
    expect(r.code).toBe(0);
    expect(hub.treePages.length).toBe(5); // 13 entries (12 files and a folder), 3 a page
    for (const [path, bytes] of Object.entries(model.files)) expect(readFileSync(join(dest, path)).equals(bytes), path).toBe(true);
    expect((JSON.parse(r.stdout) as { files: unknown[] }).files).toHaveLength(12);
  });

  it('reports a listing that ends early as an incomplete model, not success', async () => {
    // The hub stops after 10 entries: the second transformer shard, the VAE config and its weights never appear.
    hub.listing.endAfter = 10;
    const dest = mkdtempSync(join(tmpdir(), 'pull-cut-'));
    const r = await runCli(dest);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The download of Qwen\/Paged is not a complete model: 3 file\(s\) missing \(transformer\/diffusion_pytorch_model-00002-of-00002\.safetensors, vae\/config\.json, vae\/\*\.safetensors\)/);
  });

  it('reports a listing that lacks a file the pull names outright', async () => {
    // model_index.json listed last, and the listing cut before it: the folders alone look fine.
    const { 'model_index.json': modelIndex, ...rest } = model.files;
    const late = await startFakeHub({ 'Qwen/Late': { files: { ...rest, 'model_index.json': modelIndex! }, lfs: model.lfs } }, { pageSize: 3, endAfter: 12 });
    try {
      const dest = mkdtempSync(join(tmpdir(), 'pull-late-'));
      await expect(
        pullRepository({ repo: 'Qwen/Late', useHubCache: false, sources: [{ kind: 'huggingface', endpoint: late.url, label: 'test HF' }], include: ['model_index.json', 'scheduler/*'], dest }),
      ).rejects.toMatchObject({ code: 'download-failed', notice: { key: 'error.download.incompleteModel', params: { missing: 'model_index.json' } } });
      expect(readdirSync(dest)).toEqual([]);
    } finally {
      await late.close();
    }
  });

  it('checks only the components the pull asked for', async () => {
    const dest = mkdtempSync(join(tmpdir(), 'pull-part-'));
    const r = await pullRepository({ repo: 'Qwen/Paged', useHubCache: false, sources: [{ kind: 'huggingface', endpoint: hub.url, label: 'test HF' }], include: ['model_index.json', 'transformer/*'], dest });
    expect(r.files).toHaveLength(5);
  });
});
