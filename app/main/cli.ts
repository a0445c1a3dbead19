// The `studio` command: generate, serve, history. Plain Node: no Electron needed.

import { copyFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_SEED, parseSeed, parseSize, type GenerationRequestInput, type OutputFormat } from '../shared/generation.js';
import { speedPresetFor } from '../shared/lora-presets.js';
import { familyById } from '../shared/model-families.js';
import { CATALOG, parseRepoSpec } from '../shared/catalog.js';
import { defaultModelsDir, pullRepository, sourcesFor } from './library/pull.js';
import { inspectLoraFile } from './library/lora-inspect.js';
import { StudioError } from '../shared/result.js';
import { notice, noticeText } from '../shared/notices.js';
import { DEFAULT_API_PORT, type CommandLineApi } from './api/api-control.js';
import { parseApiAuth } from './api/api-server.js';
import { startBrowserHost } from './host/browser-host.js';
import { appRoot, appVersion, builtInDemoModelDir, dataLayout, defaultDataDir, workerEntry } from './paths.js';
import { openDatabase } from './store/database.js';
import { repairDatabase } from './store/repair.js';
import { refuseLostHistory } from './store/data-folder.js';
import { Studio } from './studio.js';
import { nodeWorkerSpawner } from './worker-host/worker-handle.js';

const USAGE = `studio: a desktop studio for few-step text-to-image models

Usage:
  studio generate --prompt TEXT [--negative TEXT] [--seed N] [--steps N] [--size WxH]
                  [--guidance X] [--format png|jpeg95|jpeg80] [--out FILE] [--model DIR]
                  [--lora FILE[:STRENGTH] ...]   (a speed LoRA also sets steps and sampler)
                  [--image FILE [--strength S]]  image-to-image (models that take an input image)
  studio serve [--port N] [--open] [--api] [--api-port N] [--api-auth USER:PASSWORD] [--listen]
               [--cors-allow-origins ORIGIN,...]   (--api: the A1111-compatible API, on 127.0.0.1:7860)
  studio history [--search TEXT] [--model ID] [--limit N] [--json]
  studio fixture FOLDER [--precision f32|fp16|bf16]   check the engine against a reference fixture folder
  studio pull REPO[@REVISION] [--source hf|modelscope|auto] [--endpoint URL] [--include GLOB ...] [--dest DIR]
  studio plan --model DIR [--size WxH] [--vram GB [--provider cuda|dml] [--precision P]]
                             predicted VRAM, RAM and time of each execution plan
  studio gpu status|install [--from FILE|DIR] [--lib-path DIR ...]   the CUDA provider (Linux): what it
                             needs here, and installing it into the data folder
  studio lora inspect FILE   what a LoRA file is (format, base model, rank, targets), or why it is refused
  studio repair              keep a damaged history database as studio.db.corrupt-<date> and start a
                             new one holding every image that can still be read

Common options:
  --data-dir DIR   where the history and images live (default: ${defaultDataDir()})
  --help           this text
`;

function openStudio(dataDir: string | undefined): Studio {
  const root = appRoot();
  return new Studio({
    dataDir: dataDir ? resolve(dataDir) : defaultDataDir(),
    appVersion: appVersion(root),
    demoModelDir: builtInDemoModelDir(root),
    spawnWorker: nodeWorkerSpawner(workerEntry(root)),
  });
}

function formatFor(out: string | undefined, explicit: string | undefined): OutputFormat | undefined {
  if (explicit) return explicit as OutputFormat;
  const ext = out ? extname(out).toLowerCase() : '';
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg95';
  return undefined;
}

async function generate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      prompt: { type: 'string' },
      negative: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      size: { type: 'string' },
      guidance: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      model: { type: 'string' },
      lora: { type: 'string', multiple: true },
      image: { type: 'string' },
      strength: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const explicitSize = values.size === undefined ? undefined : parseSize(values.size);
  if (values.size !== undefined && !explicitSize) throw new StudioError('invalid-request', notice('error.cliSize', { value: values.size }));
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new StudioError('invalid-request', notice('error.cliNumber', { name, value: v }));
    return n;
  };
  const seedArg = (v: string): number => {
    const seed = parseSeed(v);
    if (seed === undefined) throw new StudioError('invalid-request', notice('error.seed.invalid', { value: v, max: MAX_SEED }), `--seed ${v}`);
    return seed;
  };
  const studio = openStudio(values['data-dir']);
  try {
    let modelId = 'demo';
    if (values.model !== undefined) {
      const dir = resolve(values.model);
      modelId = `folder:${basename(dir)}`;
      await studio.models.registerFolder(modelId, dir, basename(dir));
    }
    // What the model's family starts from, unless the command line says otherwise.
    const family = familyById(studio.models.get(modelId).family);
    const size = explicitSize ?? { width: family?.defaults.width ?? 1024, height: family?.defaults.height ?? 1024 };
    const loras = (values.lora ?? []).map((spec, i) => {
      // FILE or FILE:STRENGTH (a Windows drive letter's colon is not a strength).
      const m = /^(.*?)(?::(-?\d*\.?\d+))?$/.exec(spec)!;
      const file = resolve(m[1]!);
      studio.loras.registerFile(`file:${i}`, file);
      return { id: `file:${i}`, strength: m[2] === undefined ? 1 : Number(m[2]), file };
    });
    // A speed LoRA sets the step count unless --steps says otherwise.
    const preset = loras.map((l) => speedPresetFor(basename(l.file), family?.id)).find((p) => p !== undefined);
    const format = formatFor(values.out, values.format);
    const request: GenerationRequestInput = {
      prompt: values.prompt ?? '',
      negativePrompt: values.negative ?? '',
      steps: num('steps', values.steps) ?? preset?.steps ?? family?.defaults.steps ?? 4,
      loras: loras.map(({ id, strength }) => ({ id, strength })),
      width: size.width,
      height: size.height,
      modelId,
      ...(values.seed !== undefined ? { seed: seedArg(values.seed) } : {}),
      ...(values.guidance !== undefined ? { guidance: num('guidance', values.guidance) } : {}),
      ...(values.image !== undefined ? { initImage: { path: resolve(values.image), strength: num('strength', values.strength) ?? 0.5 } } : {}),
      ...(format ? { format } : {}),
    };
    const job = studio.submit(request);
    const unsubscribe = studio.jobs.onEvent((e) => {
      if (e.type === 'progress' && e.jobId === job.jobId) {
        const p = e.progress;
        process.stderr.write(p.phase === 'denoising' ? `  step ${p.step}/${p.totalSteps}\n` : `  ${p.phase}\n`);
      }
    });
    const record = await job.completion;
    unsubscribe();
    const stored = join(studio.layout.images, record.imageFile);
    if (values.out) await copyFile(stored, resolve(values.out));
    process.stdout.write(
      `${JSON.stringify({ id: record.id, seed: record.recipe.seed, file: values.out ? resolve(values.out) : stored, stored, durations: record.durations })}\n`,
    );
    return 0;
  } finally {
    await studio.close();
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      open: { type: 'boolean' },
      'data-dir': { type: 'string' },
      ...API_FLAGS,
    },
    strict: true,
  });
  // Checked before anything starts: --listen without credentials never serves a single request.
  const api = apiFromFlags(values);
  // Checked before anything opens: a bad port is the user's typo, not a reason to touch the data folder.
  const port = values.port === undefined ? 0 : /^\d{1,5}$/.test(values.port) && Number(values.port) <= 65535 ? Number(values.port) : undefined;
  if (port === undefined) throw new StudioError('invalid-request', notice('error.serve.badPort', { value: values.port ?? '' }), `--port ${values.port}`);
  const studio = openStudio(values['data-dir']);
  let host: Awaited<ReturnType<typeof startBrowserHost>>;
  try {
    await studio.loras.load();
    for (const p of studio.loras.library.problems) process.stderr.write(`studio: ${noticeText(notice('note.library.folderSkipped', { folder: p.folder, reason: p.reason }))}\n`);
    const discovered = await studio.models.discover(studio.modelsDir);
    for (const m of discovered) process.stdout.write(`Found ${m.name} at ${m.dir}\n`);
    host = await startBrowserHost({ studio, rendererDir: join(appRoot(), 'dist', 'renderer'), port });
  } catch (e) {
    await studio.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new StudioError('invalid-request', notice('error.serve.portInUse', { port }), `127.0.0.1:${port} (${code})`);
    throw e;
  }
  // Start the worker now so the first image does not wait for it.
  studio.supervisor.start().catch((e: Error) => console.error(`studio: ${e.message}`));
  process.stdout.write(`Studio ${appVersion()} is running. Open:\n  ${host.launchUrl}\n(data: ${studio.layout.root}; Ctrl+C stops)\n`);
  try {
    await startApi(studio, api);
  } catch (e) {
    await host.close();
    await studio.close();
    throw e;
  }
  if (values.open) openInBrowser(host.launchUrl);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await host.close();
  await studio.close();
  return 0;
}

/** `studio serve`'s flags for the A1111-compatible API (the names A1111 uses). Any of them turns the API on. */
const API_FLAGS = {
  api: { type: 'boolean' },
  'api-port': { type: 'string' },
  listen: { type: 'boolean' },
  'api-auth': { type: 'string' },
  'cors-allow-origins': { type: 'string' },
} as const;

function apiFromFlags(values: { api?: boolean; 'api-port'?: string; listen?: boolean; 'api-auth'?: string; 'cors-allow-origins'?: string }): CommandLineApi | undefined {
  const wanted = values.api || values.listen || values['api-port'] !== undefined || values['api-auth'] !== undefined || values['cors-allow-origins'] !== undefined;
  if (!wanted) return undefined;
  const credentials = values['api-auth'] === undefined ? [] : parseApiAuth(values['api-auth']);
  if (values.listen && credentials.length === 0) throw new StudioError('invalid-request', notice('error.apiListenNeedsAuth'));
  const portText = values['api-port'] ?? String(DEFAULT_API_PORT);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new StudioError('invalid-request', notice('error.apiPortInvalid', { value: portText }));
  const corsOrigins = (values['cors-allow-origins'] ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
  return { host: values.listen ? '0.0.0.0' : '127.0.0.1', port, credentials, corsOrigins };
}

/** Starts the API as the flags say, else as the app's setting says; prints where clients find it. */
async function startApi(studio: Studio, api: CommandLineApi | undefined): Promise<void> {
  if (api) {
    const server = await studio.api.startFromCommandLine(api);
    process.stdout.write(`A1111-compatible API: ${server.url}/sdapi/v1 (Open WebUI, SillyTavern and webuiapi take ${server.url} as the address)\n`);
    if (api.credentials.length === 0) process.stdout.write('  (no credentials: any program on this machine may use it; --api-auth USER:PASSWORD is recommended)\n');
    return;
  }
  const state = await studio.api.restore();
  if (state.url) process.stdout.write(`A1111-compatible API (from the settings): ${state.url}/sdapi/v1\n`);
  else if (state.error) process.stderr.write(`studio: the A1111 API is on in the settings but could not start: ${state.error.message}\n`);
}

function openInBrowser(url: string): void {
  const command = process.platform === 'win32' ? 'explorer' : process.platform === 'darwin' ? 'open' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined); // No desktop opener (a server, CI): the printed link is enough.
  child.unref();
}

async function history(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      search: { type: 'string' },
      model: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const studio = openStudio(values['data-dir']);
  try {
    const page = studio.history.list({
      limit: Math.min(500, Math.max(1, Number(values.limit ?? 20) || 20)),
      ...(values.search ? { search: values.search } : {}),
      ...(values.model ? { modelId: values.model } : {}),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(page.items.map((i) => studio.history.get(i.id)), null, 2)}\n`);
    } else if (page.items.length === 0) {
      process.stdout.write('No images found.\n');
    } else {
      for (const i of page.items) {
        process.stdout.write(`${new Date(i.createdAt).toISOString()}  seed ${String(i.seed).padEnd(10)} ${i.width}x${i.height}  ${i.prompt.replace(/\s+/g, ' ').slice(0, 80)}\n`);
      }
    }
    return 0;
  } finally {
    await studio.close();
  }
}

async function pull(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      source: { type: 'string', default: 'auto' },
      endpoint: { type: 'string' },
      include: { type: 'string', multiple: true },
      dest: { type: 'string' },
      connections: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const spec = positionals[0] ? parseRepoSpec(positionals[0]) : undefined;
  if (!spec) throw new StudioError('invalid-request', notice('error.cliRepo', { example: CATALOG[0]?.huggingface?.repo ?? 'org/name' }));
  if (!['hf', 'modelscope', 'auto'].includes(values.source)) throw new StudioError('invalid-request', notice('error.cliSource'));
  const catalogEntry = CATALOG.find((c) => c.huggingface?.repo === spec.repo || c.modelscope?.repo === spec.repo);
  const include = values.include ?? catalogEntry?.huggingface?.include ?? [];
  const dataDir = values['data-dir'] ? resolve(values['data-dir']) : defaultDataDir();
  const dest = values.dest ? resolve(values.dest) : join(defaultModelsDir(dataDir), spec.repo.replace('/', '--'));
  const controller = new AbortController();
  const stop = () => controller.abort(new StudioError('cancelled', notice('error.cliStopped')));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let lastPrint = 0;
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  const result = await pullRepository({
    repo: spec.repo,
    ...(spec.revision ? { revision: spec.revision } : {}),
    sources: sourcesFor(values.source as 'hf' | 'modelscope' | 'auto', values.endpoint),
    include,
    dest,
    signal: controller.signal,
    download: { connections: Number(values.connections) || 4 },
    log: (line) => process.stderr.write(`  ${line}\n`),
    onProgress: (p) => {
      if (Date.now() - lastPrint < 500 && p.bytes < p.total) return;
      lastPrint = Date.now();
      const eta = p.etaSeconds === null ? '' : `, ${Math.ceil(p.etaSeconds)} s left`;
      process.stderr.write(`  ${p.file} ${mb(p.fileBytes)}/${mb(p.fileTotal)} MB · total ${mb(p.bytes)}/${mb(p.total)} MB · ${mb(p.speed)} MB/s${eta}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify({ repo: spec.repo, dest: result.dest, files: result.files })}\n`);
  return 0;
}

async function repair(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' } }, strict: true });
  const layout = dataLayout(values['data-dir'] ? resolve(values['data-dir']) : defaultDataDir());
  try {
    refuseLostHistory(layout);
    openDatabase(layout.database).close();
    process.stdout.write(`${noticeText(notice('note.repair.notNeeded', { file: layout.database }))}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof StudioError) || e.code !== 'database-corrupt') throw e;
  }
  const r = await repairDatabase(layout);
  process.stdout.write(`${noticeText(notice('note.repair.done', { backup: r.backup, recovered: r.recovered, fromImages: r.fromImages, unreadable: r.unreadable }))}\n`);
  return 0;
}

async function lora(args: string[]): Promise<number> {
  const [sub, file] = args;
  if (sub !== 'inspect' || !file) throw new StudioError('invalid-request', notice('error.cliLoraUsage'));
  const report = await inspectLoraFile(resolve(file));
  process.stdout.write(`${JSON.stringify(report.ok ? report : { ...report, reason: noticeText(report.reason) }, null, 2)}\n`);
  return report.ok ? 0 : 1;
}

/** Runs a worker-side command in its own process: only app/worker reads model files and loads onnxruntime. */
function inWorker(entry: string, args: string[]): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(appRoot(), 'dist', 'app', 'worker', entry), ...args], { stdio: 'inherit' });
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

function fixture(args: string[]): Promise<number> {
  return inWorker(join('fixtures', 'fixture-main.js'), args);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'generate':
        return await generate(rest);
      case 'serve':
        return await serve(rest);
      case 'history':
        return await history(rest);
      case 'fixture':
        return await fixture(rest);
      case 'pull':
        return await pull(rest);
      case 'plan':
        return await inWorker('plan-main.js', rest);
      case 'gpu':
        return await inWorker(join('gpu', 'gpu-main.js'), rest);
      case 'lora':
        return await lora(rest);
      case 'repair':
        return await repair(rest);
      case undefined:
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        process.stderr.write(`studio: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof StudioError) {
      process.stderr.write(`studio: ${e.message}\n${e.detail && !e.message.includes(e.detail) ? `  (${e.detail})\n` : ''}`);
      return 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`studio: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}
