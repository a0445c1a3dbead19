// Benchmark: execution plans on this machine. A random bf16 transformer (medium: 12 blocks, 1024 wide,
// ~1 GB) runs under each plan in its own process (`studio plan --measure`), so peak host memory is the
// plan's own; prints measured load time, time per step and peak RSS next to the planner's predictions
// for this device. On the CPU the bf16 blocks are widened to float32 when a session loads them.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomTransformer } from '../dist/app/worker/demo/tiny-qwen-image.js';

const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();
const size = process.env.BENCH_SIZE ?? '512x512';
const dir = join(tmpdir(), 'studio-bench-plans-v1');
const fixtures = new URL('../test-fixtures/qwen-image/', import.meta.url).pathname;
const plans = (process.env.BENCH_PLANS ?? 'resident,sequential,streamed:4,streamed:2,streamed:1,int8,int4,int4-streamed:2').split(',');
const GB = 1024 ** 3;

if (!existsSync(join(dir, 'model_index.json'))) {
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  await writeRandomTransformer(
    join(dir, 'transformer'),
    { num_layers: 12, num_attention_heads: 16, attention_head_dim: 64, joint_attention_dim: 64, axes_dims_rope: [16, 24, 24], in_channels: 64, out_channels: 16, patch_size: 2 },
    'BF16',
  );
  for (const c of ['text_encoder', 'vae']) cpSync(join(fixtures, c), join(dir, c), { recursive: true });
  for (const d of ['scheduler', 'tokenizer']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
  console.log(`made the bench model in ${((performance.now() - t0) / 1000).toFixed(1)} s (${dir})`);
}
rmSync(join(dir, 'studio-quantized'), { recursive: true, force: true });

const rows = [];
for (const plan of plans) {
  const r = spawnSync(process.execPath, ['bin/studio.js', 'plan', '--model', dir, '--size', size, '--measure', plan, '--steps', '3', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, STUDIO_THREADS: String(threads) },
  });
  if (r.status !== 0) {
    rows.push({ plan, error: r.stderr.trim().split('\n').pop() });
    continue;
  }
  const { measured: m, plans: predicted } = JSON.parse(r.stdout);
  const steps = [...m.msPerStep].sort((a, b) => a - b);
  const kind = plan.split(':')[0];
  const p = predicted.find((x) => x.kind === kind);
  rows.push({
    plan,
    'load s': (m.loadMs / 1000).toFixed(2),
    'quantize s': (m.quantizeMs / 1000).toFixed(1),
    's/step (median)': (steps[Math.floor(steps.length / 2)] / 1000).toFixed(3),
    'peak RSS GB': (m.peakRssBytes / GB).toFixed(2),
    'sessions at once': m.peakLoadedParts,
    'predicted peak GB': p ? (p.peakVramBytes / GB).toFixed(2) : '-',
    'predicted s/step': p ? p.secondsPerStep.toFixed(3) : '-',
  });
}
console.log(`execution plans, CPU provider, ${threads} threads, ${size}, transformer only (12 blocks x 1024 wide, bf16 on disk):`);
console.table(rows);
