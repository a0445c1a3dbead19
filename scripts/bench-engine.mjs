// Benchmark: the engine on the CPU, each measurement in a fresh process (`studio plan --measure`).
//
// 1. Transformer peak memory for the demo and a medium model at 512, 1024 and 1536 px under three plans,
//    three runs each (peak resident memory after every run: it must not grow after the first), next to the
//    planner's prediction for that plan (graph-derived weights and activations, the CPU's measured process
//    size and allocator factor; see shared/vram-plan.ts). BENCH_BEFORE=<old checkout> adds that build's
//    figures for the same runs (it must have `studio plan --measure`).
// 2. float32 vs float16 (the graphs DirectML and older CUDA cards run): step time and peak memory.
// 3. The modulation cache: the weights the blocks' sessions no longer hold, and the time the modulation
//    takes once per timestep against what it cost inside every step before.
// 4. ONNX Runtime's memory pattern on and off: VAE decode at 1024x1024, resident memory run after run.
//
// The CPU is shared with other work while this runs: times are noisy (each is a median of 3 steps).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();
const MB = 1024 ** 2;
const sizes = (process.env.BENCH_SIZES ?? '512,1024,1536').split(',').map(Number);
const plans = (process.env.BENCH_PLANS ?? 'resident,streamed:1,int8').split(',');
const before = process.env.BENCH_BEFORE;
const fixtures = join(root, 'test-fixtures', 'qwen-image');
const median = (xs) => (xs?.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
const sections = (process.env.BENCH_SECTIONS ?? '1,2,3,4').split(',');

/** A model folder whose transformer is random (bf16) and whose text encoder and VAE are the fixtures'. */
async function mediumModel() {
  const dir = join(tmpdir(), 'studio-bench-engine-medium-v2');
  if (existsSync(join(dir, 'model_index.json'))) return dir;
  const { writeRandomTransformer } = await import(join(root, 'dist/app/worker/demo/tiny-qwen-image.js'));
  await writeRandomTransformer(
    join(dir, 'transformer'),
    { num_layers: 8, num_attention_heads: 12, attention_head_dim: 64, joint_attention_dim: 64, axes_dims_rope: [16, 24, 24], in_channels: 64, out_channels: 16, patch_size: 2 },
    'BF16',
  );
  for (const c of ['text_encoder', 'vae']) cpSync(join(fixtures, c), join(dir, c), { recursive: true });
  for (const d of ['scheduler', 'tokenizer']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
  return dir;
}

function measure(bin, model, size, plan, env = {}) {
  const r = spawnSync(process.execPath, [bin, 'plan', '--model', model, '--size', `${size}x${size}`, '--measure', plan, '--steps', '3', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, STUDIO_THREADS: String(threads), ...env },
  });
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').pop() };
  const measured = JSON.parse(r.stdout).measured;
  return measured ?? { error: 'no measurement in the output' };
}

async function parent() {
  const models = { demo: join(root, 'models', 'demo'), medium: await mediumModel() };
  const studio = join(root, 'bin', 'studio.js');

  // 1. Peak memory against the planner.
  if (sections.includes('1')) {
  const memRows = [];
  for (const [name, dir] of Object.entries(models)) {
    for (const size of sizes) {
      for (const plan of plans) {
        const m = measure(studio, dir, size, plan);
        if (m.error) {
          memRows.push({ model: name, px: size, plan, error: m.error });
          continue;
        }
        const b = before ? measure(join(before, 'bin', 'studio.js'), dir, size, plan) : undefined;
        const err = (m.predictedPeakBytes - m.peakRssBytes) / m.peakRssBytes;
        memRows.push({
          model: name,
          px: size,
          plan,
          ...(b ? { 'before peak MB': b.error ? 'error' : (b.peakRssBytes / MB).toFixed(0), 'before s/step': b.error || !b.msPerStep ? '-' : (median(b.msPerStep) / 1000).toFixed(2) } : {}),
          'peak MB after runs 1/2/3': m.peakRssAfterStep.map((x) => (x / MB).toFixed(0)).join(' / '),
          'predicted MB': (m.predictedPeakBytes / MB).toFixed(0),
          'error %': (100 * err).toFixed(1),
          's/step': (median(m.msPerStep) / 1000).toFixed(2),
        });
      }
    }
  }
  console.log(`\n1. Transformer peak resident memory vs the planner (CPU provider, ${threads} threads, 3 runs per process; ${sizes.join('/')} px, 128 text tokens):`);
  console.table(memRows);
  const errors = memRows.filter((r) => r['error %'] !== undefined).map((r) => Math.abs(Number(r['error %'])));
  if (errors.length) console.log(`largest prediction error: ${Math.max(...errors).toFixed(1)}% over ${errors.length} measurements`);
  }

  // 2. float32 vs float16.
  if (sections.includes('2')) {
  const precisionRows = [];
  for (const [name, dir] of Object.entries(models)) {
    for (const precision of ['f32', 'fp16']) {
      const m = measure(studio, dir, 512, 'resident', { STUDIO_PRECISION: precision });
      precisionRows.push(
        m.error
          ? { model: name, precision, error: m.error }
          : { model: name, precision: m.precision, 's/step (median of 3)': (median(m.msPerStep) / 1000).toFixed(3), 'peak MB': (m.peakRssBytes / MB).toFixed(0), 'predicted MB': (m.predictedPeakBytes / MB).toFixed(0) },
      );
    }
  }
  console.log(`\n2. float32 vs float16 on the CPU provider at 512x512 (float16 is what DirectML and pre-Ampere CUDA run; ONNX Runtime's CPU kernels compute many float16 ops by converting to float32, so this is no GPU speed-up):`);
  console.table(precisionRows);
  }

  // 3. The modulation cache.
  if (sections.includes('3')) {
  const modRows = [];
  for (const [name, dir] of Object.entries(models)) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--modulation', dir], { encoding: 'utf8', env: { ...process.env, STUDIO_THREADS: String(threads) } });
    if (r.status !== 0) {
      modRows.push({ model: name, error: r.stderr.trim().split('\n').pop() });
      continue;
    }
    const m = JSON.parse(r.stdout);
    modRows.push({
      model: name,
      'modulation weights (stored) MB': (m.modulationBytes / MB).toFixed(1),
      'share of transformer weights': `${((100 * m.modulationBytes) / m.transformerBytes).toFixed(0)}%`,
      'blocks session holds MB (f32)': (m.blocksHeldBytes / MB).toFixed(1),
      'modulation ms / timestep (4 at once)': (m.batchMs / 4).toFixed(1),
      'modulation ms / timestep (1 at a time)': m.singleMs.toFixed(1),
      'cached (same schedule again) ms': m.cachedMs.toFixed(2),
    });
  }
  console.log('\n3. The modulation cache: AdaLN linears and the timestep embedding run once per schedule timestep, not inside every step:');
  console.table(modRows);
  }

  // 4. Memory pattern.
  if (sections.includes('4')) {
  const patternRows = [];
  for (const pattern of ['on', 'off']) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--vae', models.demo], { encoding: 'utf8', env: { ...process.env, STUDIO_THREADS: String(threads), STUDIO_MEM_PATTERN: pattern } });
    if (r.status !== 0) {
      patternRows.push({ pattern, error: r.stderr.trim().split('\n').pop() });
      continue;
    }
    const m = JSON.parse(r.stdout);
    patternRows.push({ 'memory pattern': pattern, 'resident MB after runs 1/2/3': m.rss.map((x) => (x / MB).toFixed(0)).join(' / '), 'ms per decode': m.ms.map((x) => x.toFixed(0)).join(' / ') });
  }
  console.log('\n4. ONNX Runtime memory pattern, demo VAE decode at 1024x1024 (the engine turns it off on every provider):');
  console.table(patternRows);
  }
}

if (process.argv[2] === '--modulation') await modulationChild(process.argv[3]);
else if (process.argv[2] === '--vae') await vaeChild(process.argv[3]);
else {
  await parent();
  // The Stable Diffusion UNet and live mode (scripts/bench-unet.mjs).
  await import('./bench-unet.mjs');
}

async function modulationChild(dir) {
  const { openTransformer } = await import(join(root, 'dist/app/worker/qwen-image/components.js'));
  const { isModulationModule } = await import(join(root, 'dist/app/worker/qwen-image/transformer-graph.js'));
  const model = await openTransformer(join(dir, 'transformer'), dir, { intraOpThreads: threads });
  const names = model.weights.names();
  const bytes = (filter) => names.filter(filter).reduce((a, n) => a + model.weights.get(n).byteLength, 0);
  const modulationBytes = bytes(isModulationModule);
  const transformerBytes = bytes(() => true);
  const stored = model.weights.get('img_in.weight');
  const widen = 4 / (stored.byteLength / stored.shape.reduce((a, b) => a * b, 1));
  const t0 = performance.now();
  await model.prepareModulation([0.999, 0.9, 0.75, 0.5]);
  const batchMs = performance.now() - t0;
  const t1 = performance.now();
  await model.prepareModulation([0.3]);
  const singleMs = performance.now() - t1;
  const t2 = performance.now();
  await model.prepareModulation([0.999, 0.9, 0.75, 0.5]);
  const cachedMs = performance.now() - t2;
  await model.release();
  process.stdout.write(JSON.stringify({ modulationBytes, transformerBytes, blocksHeldBytes: (transformerBytes - modulationBytes) * widen, batchMs, singleMs, cachedMs }));
}

async function vaeChild(dir) {
  const { openVae } = await import(join(root, 'dist/app/worker/qwen-image/components.js'));
  const { readFileSync } = await import('node:fs');
  const vae = await openVae(join(dir, 'vae'), dir, { intraOpThreads: threads });
  const z = new Float32Array(16 * 128 * 128).map((_, i) => Math.sin(i));
  const rss = [];
  const ms = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await vae.decode(z, 1, 128, 128);
    ms.push(performance.now() - t);
    rss.push(Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024);
  }
  process.stdout.write(JSON.stringify({ rss, ms }));
}

