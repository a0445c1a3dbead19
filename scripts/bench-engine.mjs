// Benchmark: the engine on CPU. For transformers of growing size with float32 weights (memory-mapped in
// place) and bfloat16 weights (cast to float32 when the session is created, so copied): weight bytes,
// anonymous and file-backed resident memory added by opening the model and running a step, session
// creation time, and time per denoising step at 512x512. Each model is measured in a fresh process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MB = 1024 * 1024;
const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();

/** Resident anonymous and file-backed memory (Linux /proc). */
function rss() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

async function measure(dir, jointDim) {
  const { openTransformer } = await import('../dist/app/worker/qwen-image/components.js');
  const before = rss();
  const t0 = performance.now();
  const model = await openTransformer(dir, dir, { intraOpThreads: threads });
  const createMs = performance.now() - t0;
  const grid = 32; // 512x512 pixels -> 32x32 patches
  const text = 24;
  const input = {
    hidden: new Float32Array(grid * grid * 64).fill(0.1),
    batch: 1,
    gridH: grid,
    gridW: grid,
    encoder: new Float32Array(text * jointDim).fill(0.1),
    textTokens: text,
    textLengths: [text],
    timesteps: Float32Array.of(0.5),
  };
  await model.run(input); // warm-up: every weight page is touched
  const after = rss();
  const times = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    await model.run(input);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ createMs, stepMs: times[2], anon: after.anon - before.anon, file: after.file - before.file }));
}

if (process.argv[2] === '--measure') {
  await measure(process.argv[3], Number(process.argv[4]));
} else {
  const { writeRandomTransformer } = await import('../dist/app/worker/demo/tiny-qwen-image.js');
  const configs = [
    { label: 'tiny (demo size)', num_layers: 2, num_attention_heads: 2, attention_head_dim: 32, joint_attention_dim: 32, axes_dims_rope: [8, 12, 12] },
    { label: 'small', num_layers: 4, num_attention_heads: 8, attention_head_dim: 64, joint_attention_dim: 256, axes_dims_rope: [16, 24, 24] },
    { label: 'medium', num_layers: 8, num_attention_heads: 12, attention_head_dim: 64, joint_attention_dim: 512, axes_dims_rope: [16, 24, 24] },
  ];
  const rows = [];
  for (const { label, ...cfg } of configs) {
    for (const dtype of ['F32', 'BF16']) {
      const dir = mkdtempSync(join(tmpdir(), 'bench-engine-'));
      await writeRandomTransformer(dir, { ...cfg, in_channels: 64, out_channels: 16, patch_size: 2 }, dtype);
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', dir, String(cfg.joint_attention_dim)], { encoding: 'utf8', env: process.env });
      if (r.status !== 0) throw new Error(r.stderr);
      const m = JSON.parse(r.stdout);
      rows.push({
        transformer: label,
        dtype,
        weights_MB: (statSync(join(dir, 'diffusion_pytorch_model.safetensors')).size / MB).toFixed(1),
        anon_rss_added_MB: (m.anon / MB).toFixed(1),
        file_rss_added_MB: (m.file / MB).toFixed(1),
        session_create_ms: m.createMs.toFixed(0),
        step_ms_p50: m.stepMs.toFixed(1),
      });
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`engine benchmark: Qwen-Image transformer on the CPU provider, ${threads} threads, 512x512 (1024 image + 24 text tokens)`);
  console.table(rows);
}

// The Stable Diffusion UNet and live mode (scripts/bench-unet.mjs).
if (process.argv[2] === undefined) await import('./bench-unet.mjs');
