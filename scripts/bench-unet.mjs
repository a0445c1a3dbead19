// Benchmark: the Stable Diffusion UNet on the CPU, and live mode's keystroke-to-image latency.
//
// 1. One UNet call at 512x512 (a 64x64 latent, 77 text tokens), each model in a fresh process: the tiny
//    reference SD-Turbo and SDXL UNets and a medium random SD-Turbo-shaped one (SD 2.1 layout at about a
//    sixth of its width, 100 M parameters): weights, session creation, time per step (median of 5) and the
//    process's peak resident memory.
// 2. Live mode: a prompt typed word by word into a running studio (the real worker process) with a random
//    SD-Turbo folder, each pause submitting a 1-step 512x512 job and cancelling the previous one, as the
//    window does; the newest prompt's image and how long it took from the keystroke.
// The CPU is shared with other work while this runs: repeat and compare medians.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MB = 1024 * 1024;
const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();
const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => new URL(`../dist/app/${p}`, import.meta.url).href;

async function measureUnet(dir) {
  const { UnetModel } = await import(dist('worker/sd/unet-model.js'));
  const { gaussianNoise } = await import(dist('worker/noise.js'));
  const t0 = performance.now();
  const unet = await UnetModel.open(dir, dir, { intraOpThreads: threads });
  await unet.load();
  const createMs = performance.now() - t0;
  const cfg = unet.config;
  const input = {
    sample: gaussianNoise(1, cfg.inChannels * 64 * 64),
    batch: 1,
    height: 64,
    width: 64,
    timesteps: Float32Array.of(999),
    context: gaussianNoise(2, 77 * cfg.crossAttentionDim),
    tokens: 77,
    ...(cfg.addTime ? { textEmbeds: gaussianNoise(3, cfg.addTime.textEmbedDim), timeIds: Float32Array.of(512, 512, 0, 0, 512, 512) } : {}),
  };
  await unet.run(input);
  const times = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    await unet.run(input);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ createMs, stepMs: times[2], peakRss: process.resourceUsage().maxRSS * 1024 }));
}

async function liveLatency(dir) {
  const { Studio } = await import(dist('main/studio.js'));
  const { nodeWorkerSpawner } = await import(dist('main/worker-host/worker-handle.js'));
  const { workerEntry, builtInDemoModelDir, appVersion } = await import(dist('main/paths.js'));
  const studio = new Studio({
    dataDir: mkdtempSync(join(tmpdir(), 'bench-live-data-')),
    appVersion: appVersion(root),
    demoModelDir: builtInDemoModelDir(root),
    spawnWorker: nodeWorkerSpawner(workerEntry(root), { ...process.env, STUDIO_THREADS: String(threads) }),
  });
  const model = await studio.models.registerFolder('live', dir, 'random SD-Turbo');
  const words = 'a red fox walking through fresh snow at dawn, soft light'.split(' ');
  const request = (prompt) => ({ prompt, steps: 1, width: 512, height: 512, modelId: model.id, seed: 7, format: 'jpeg80' });
  // The first image loads the model: not part of typing.
  await studio.submit(request('warm up')).completion;
  const sessions = [];
  for (let run = 0; run < 3; run++) {
    let live;
    let cancelled = 0;
    const started = [];
    for (let i = 1; i <= words.length; i++) {
      // A pause after each word (the window's debounce fires), the previous job cancelled.
      if (live && studio.jobs.cancel(live.jobId)) cancelled++;
      const submittedAt = performance.now();
      live = studio.submit(request(`${words.slice(0, i).join(' ')} #${run}`));
      live.completion.catch(() => undefined);
      started.push(submittedAt);
      await new Promise((r) => setTimeout(r, 150));
    }
    const last = started[started.length - 1];
    const record = await live.completion;
    sessions.push({ latencyMs: performance.now() - last, cancelled, prompt: record.recipe.prompt, totalMs: record.durations.totalMs });
  }
  await studio.close();
  process.stdout.write(JSON.stringify(sessions));
}

if (process.argv[2] === '--unet') {
  await measureUnet(process.argv[3]);
} else if (process.argv[2] === '--live') {
  await liveLatency(process.argv[3]);
} else {
  const { writeRandomSdTurbo, MEDIUM_SD_TURBO, TINY_SD_TURBO } = await import(dist('worker/sd/random-sd.js'));
  const medium = join(mkdtempSync(join(tmpdir(), 'bench-unet-')), 'medium');
  await writeRandomSdTurbo(medium, MEDIUM_SD_TURBO);
  const unets = [
    ['tiny SD-Turbo (reference fixture)', join(root, 'test-fixtures/sdxl/sd_turbo/unet')],
    ['tiny SDXL (reference fixture)', join(root, 'test-fixtures/sdxl/unet')],
    ['medium random SD-Turbo (100 M)', join(medium, 'unet')],
  ];
  const rows = [];
  for (const [label, dir] of unets) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--unet', dir], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(r.stderr);
    const m = JSON.parse(r.stdout);
    rows.push({
      unet: label,
      weights_MB: (statSync(join(dir, 'diffusion_pytorch_model.safetensors')).size / MB).toFixed(1),
      session_create_ms: m.createMs.toFixed(0),
      step_ms_p50: m.stepMs.toFixed(1),
      peak_rss_MB: (m.peakRss / MB).toFixed(0),
    });
  }
  console.log(`UNet benchmark: one call at 512x512 (64x64 latent, 77 text tokens) on the CPU provider, ${threads} threads, float32`);
  console.table(rows);
  const tiny = join(mkdtempSync(join(tmpdir(), 'bench-live-')), 'tiny');
  await writeRandomSdTurbo(tiny, TINY_SD_TURBO);
  for (const [label, dir] of [['tiny SD-Turbo', tiny], ['medium SD-Turbo', medium]]) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--live', dir], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(r.stderr);
    const sessions = JSON.parse(r.stdout);
    const latencies = sessions.map((s) => s.latencyMs).sort((a, b) => a - b);
    console.log(
      `live mode, ${label}, 1 step at 512x512: last keystroke to saved image ${latencies.map((l) => l.toFixed(0)).join(' / ')} ms ` +
        `(median ${latencies[1].toFixed(0)} ms; the window adds its ${500} ms typing pause); ` +
        `${sessions.map((s) => s.cancelled).join('/')} stale jobs cancelled per sentence; the newest prompt won: ${sessions.every((s, i) => s.prompt.endsWith(`#${i}`) && s.prompt.includes('soft light'))}`,
    );
  }
  rmSync(medium, { recursive: true, force: true });
  rmSync(tiny, { recursive: true, force: true });
}
