// Benchmark: cold start to first image (worker spawn, model load, generation, save) and warm images,
// through the same Studio the app uses, on the demo model. Prints a table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Studio } from '../dist/app/main/studio.js';
import { appVersion, builtInDemoModelDir, workerEntry } from '../dist/app/main/paths.js';
import { nodeWorkerSpawner } from '../dist/app/main/worker-host/worker-handle.js';

const COLD_RUNS = Number(process.env.RUNS ?? 3);
const sizes = [
  [512, 512],
  [1024, 1024],
];
const rows = [];
for (const [width, height] of sizes) {
  for (let run = 0; run < COLD_RUNS; run++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
    const t0 = performance.now();
    const studio = new Studio({ dataDir, appVersion: appVersion(), demoModelDir: builtInDemoModelDir(), spawnWorker: nodeWorkerSpawner(workerEntry()) });
    await studio.supervisor.start();
    const tReady = performance.now();
    const first = await studio.submit({ prompt: 'a red fox in the snow', steps: 4, width, height, seed: run }).completion;
    const tFirst = performance.now();
    const warm = await studio.submit({ prompt: 'a blue whale', steps: 4, width, height, seed: run }).completion;
    rows.push({
      size: `${width}x${height}`,
      run: run + 1,
      worker_ready_ms: (tReady - t0).toFixed(0),
      cold_first_image_ms: (tFirst - t0).toFixed(0),
      model_load_ms: first.durations.loadMs.toFixed(0),
      denoise_4_steps_ms: first.durations.denoiseMs.toFixed(0),
      decode_ms: first.durations.decodeMs.toFixed(0),
      save_ms: first.durations.saveMs.toFixed(0),
      warm_image_ms: warm.durations.totalMs.toFixed(0),
    });
    await studio.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
console.log('startup benchmark (demo model, 4 steps, CPU provider, JPEG 95)');
console.table(rows);
