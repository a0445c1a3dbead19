// GPU check: run on a machine with an NVIDIA GPU (scripts/gpu-check.sh prepares node and the CUDA
// provider, then calls this). Prints markdown tables and writes $OUT/gpu-check.json (or ./gpu-check.json).
//
// 1. The CUDA provider: `studio gpu status`, and whether bf16 MultiHeadAttention has a kernel in this build.
// 2. The full-size Qwen-Image architecture (sparse skeletons of the official shards: zero weights, the
//    same shapes, the same work) at 1024x1024 in bf16 and fp16: for each card size in GPU_CHECK_VRAM the
//    plan the planner chooses, then that plan's transformer measured (`studio plan --measure`, 4 steps):
//    time per step and peak VRAM (nvidia-smi) next to the prediction; and one 4-step image end to end.
// 3. fp16 vs bf16 vs f32 on a medium random transformer (real random weights): the largest differences.
// 4. Memory pattern on vs off on CUDA (VRAM from the second run), to confirm MEM_PATTERN in ort.ts.
//
// Time is scarce on a lent GPU: GPU_CHECK_VRAM (default 80,24,16,12,8), GPU_CHECK_PRECISIONS (bf16,fp16)
// and GPU_CHECK_E2E=0 trim it.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const studio = join(root, 'bin', 'studio.js');
const GB = 1024 ** 3;
const vrams = (process.env.GPU_CHECK_VRAM ?? '80,24,16,12,8').split(',').map(Number);
const precisions = (process.env.GPU_CHECK_PRECISIONS ?? 'bf16,fp16').split(',');
const work = process.env.GPU_CHECK_DIR ?? join(tmpdir(), 'studio-gpu-check');
const out = process.env.OUT ?? root;
const results = { started: new Date().toISOString(), sections: {} };
const env = { ...process.env, STUDIO_PROVIDERS: 'cuda,cpu', STUDIO_THREADS: String(availableParallelism()) };

function run(args, extraEnv = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [studio, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv }, maxBuffer: 64 * 1024 * 1024 });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

function table(rows) {
  if (rows.length === 0) return '(none)\n';
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [`| ${keys.join(' | ')} |`, `| ${keys.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${keys.map((k) => r[k] ?? '').join(' | ')} |`)].join('\n') + '\n';
}

function save() {
  writeFileSync(join(out, 'gpu-check.json'), JSON.stringify(results, null, 2));
}

// 1. The provider.
const status = run(['gpu', 'status', '--json']);
results.sections.status = status.stdout ? JSON.parse(status.stdout) : { error: status.stderr };
console.log('## CUDA provider\n');
console.log('```\n' + run(['gpu', 'status']).stdout + '```\n');
const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `
  const ort = await import(${JSON.stringify(join(root, 'dist/app/worker/ort.js'))});
  const { GraphBuilder, attr } = await import(${JSON.stringify(join(root, 'dist/app/worker/onnx/graph-builder.js'))});
  const out = {};
  for (const [name, type] of [['fp16', 10], ['bf16', 16]]) {
    const g = new GraphBuilder('mha');
    const q = g.op('Cast', [g.input('q', 1, [1, 64, 256])], { to: attr.int(type) });
    g.output(g.op('Cast', [g.op('MultiHeadAttention', [q, q, q], { num_heads: attr.int(2) }, { domain: 'com.microsoft' })], { to: attr.int(1) }), 'y', 1, [1, 64, 256]);
    try { const s = await ort.createSession(g.encode({ '': 21, 'com.microsoft': 1 }), { externalDataFolder: '.', intraOpThreads: 1, providers: ['cuda'], precision: name === 'bf16' ? 'bf16' : 'fp16' }); await s.release(); out[name] = 'kernel'; } catch (e) { out[name] = e.message.split('\\n')[0].slice(0, 160); }
  }
  console.log(JSON.stringify(out));
`], { encoding: 'utf8', env });
results.sections.multiHeadAttention = probe.stdout.trim() || probe.stderr.slice(-400);
console.log(`MultiHeadAttention on CUDA (session with CPU fallback disabled): ${results.sections.multiHeadAttention}\n`);
save();

// 2. Full-size skeletons.
const full = join(work, 'full');
if (!existsSync(join(full, 'model_index.json'))) {
  const { writeSkeleton } = await import(join(root, 'dist/app/worker/safetensors/skeleton.js'));
  const { bundledQwenTokenizerDir } = await import(join(root, 'dist/app/worker/tokenizer/qwen2-tokenizer.js'));
  const { LIGHTNING_SAMPLER, schedulerConfigFor } = await import(join(root, 'dist/app/shared/flow-match.js'));
  for (const c of ['transformer', 'text_encoder', 'vae']) await writeSkeleton(JSON.parse(readFileSync(join(root, 'test-fixtures/full-size/qwen-image', `${c}.json`), 'utf8')), full);
  mkdirSync(join(full, 'scheduler'), { recursive: true });
  writeFileSync(join(full, 'scheduler', 'scheduler_config.json'), JSON.stringify(schedulerConfigFor(LIGHTNING_SAMPLER)));
  cpSync(bundledQwenTokenizerDir(), join(full, 'tokenizer'), { recursive: true });
  writeFileSync(join(full, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
}
const rows = [];
for (const precision of precisions) {
  for (const vram of vrams) {
    const plan = run(['plan', '--model', full, '--size', '1024x1024', '--vram', String(vram), '--precision', precision, '--json']);
    if (plan.status !== 0) {
      rows.push({ precision, 'card GB': vram, error: plan.stderr.trim().split('\n').pop() });
      continue;
    }
    const report = JSON.parse(plan.stdout);
    const chosen = report.chosen;
    if (!chosen) {
      rows.push({ precision, 'card GB': vram, plan: 'none', error: report.advice });
      continue;
    }
    const name = `${chosen.kind}${chosen.groupBlocks ? `:${chosen.groupBlocks}:${chosen.pinnedGroups ?? 1}` : ''}`;
    const m = run(['plan', '--model', full, '--size', '1024x1024', '--measure', name, '--steps', '4', '--text-tokens', '256', '--json'], { STUDIO_PRECISION: precision, STUDIO_VRAM_GB: String(vram) });
    const measured = m.status === 0 ? JSON.parse(m.stdout).measured : undefined;
    const steps = measured ? [...measured.msPerStep].sort((a, b) => a - b) : [];
    rows.push({
      precision,
      'card GB': vram,
      plan: name,
      'predicted peak GB': (chosen.peakVramBytes / GB).toFixed(1),
      'predicted transformer GB': measured ? (measured.predictedPeakBytes / GB).toFixed(1) : '',
      'measured peak VRAM GB': measured?.peakVramBytes ? (measured.peakVramBytes / GB).toFixed(1) : m.status === 0 ? '?' : 'failed',
      'predicted s/step': chosen.secondsPerStep.toFixed(2),
      's/step (median of 4)': measured ? (steps[Math.floor(steps.length / 2)] / 1000).toFixed(2) : '',
      'load s': measured ? (measured.loadMs / 1000).toFixed(1) : '',
      'modulation s': measured ? (measured.modulationMs / 1000).toFixed(1) : '',
      ...(m.status !== 0 ? { error: m.stderr.trim().split('\n').pop() } : {}),
    });
    results.sections.plans = rows;
    save();
  }
}
console.log('## Full-size transformer at 1024x1024 (skeleton weights), plan per card size\n');
console.log(table(rows));

if (process.env.GPU_CHECK_E2E !== '0') {
  const e2e = [];
  for (const precision of precisions) {
    const r = run(['generate', '--model', full, '--prompt', 'a red fox in the snow', '--steps', '4', '--size', '1024x1024', '--seed', '1', '--out', join(work, `e2e-${precision}.png`)], {
      STUDIO_PRECISION: precision,
      STUDIO_DATA_DIR: join(work, 'data'),
    });
    const line = r.stdout.trim().split('\n').pop();
    e2e.push({ precision, seconds: r.seconds.toFixed(1), ...(r.status === 0 ? JSON.parse(line).durations : { error: r.stderr.trim().split('\n').pop() }) });
  }
  results.sections.endToEnd = e2e;
  save();
  console.log('## One 4-step image end to end, 1024x1024 (the planner\'s plan for this card)\n');
  console.log(table(e2e));
}

// 3. Precision differences on a medium random transformer.
const medium = join(work, 'medium');
if (!existsSync(join(medium, 'config.json'))) {
  const { writeRandomTransformer } = await import(join(root, 'dist/app/worker/demo/tiny-qwen-image.js'));
  await writeRandomTransformer(medium, { num_layers: 12, num_attention_heads: 16, attention_head_dim: 128, joint_attention_dim: 3584, axes_dims_rope: [16, 56, 56], in_channels: 64, out_channels: 16, patch_size: 2 }, 'BF16');
}
const diff = spawnSync(process.execPath, ['--input-type=module', '-e', `
  const { openTransformer } = await import(${JSON.stringify(join(root, 'dist/app/worker/qwen-image/components.js'))});
  const { gaussianNoise } = await import(${JSON.stringify(join(root, 'dist/app/worker/noise.js'))});
  const dir = ${JSON.stringify(medium)};
  const input = { hidden: gaussianNoise(1, 4096 * 64), batch: 1, gridH: 64, gridW: 64, encoder: gaussianNoise(2, 256 * 3584), textTokens: 256, textLengths: [256], timesteps: Float32Array.of(0.75) };
  const outputs = {};
  for (const precision of ['f32', 'bf16', 'fp16']) {
    const m = await openTransformer(dir, dir, { intraOpThreads: 4, providers: ['cuda'], precision });
    await m.run(input);
    const t0 = performance.now();
    outputs[precision] = await m.run(input);
    outputs[precision + 'ms'] = performance.now() - t0;
    await m.release();
  }
  const rows = [];
  for (const p of ['bf16', 'fp16']) {
    let maxAbs = 0, sumSq = 0, refSq = 0, bad = 0;
    for (let i = 0; i < outputs.f32.length; i++) { const d = outputs[p][i] - outputs.f32[i]; if (!Number.isFinite(outputs[p][i])) bad++; maxAbs = Math.max(maxAbs, Math.abs(d)); sumSq += d * d; refSq += outputs.f32[i] ** 2; }
    rows.push({ precision: p, 'max abs vs f32': maxAbs.toExponential(2), 'relative RMS vs f32': Math.sqrt(sumSq / refSq).toExponential(2), 'non-finite': bad, 'ms/step': outputs[p + 'ms'].toFixed(0) });
  }
  rows.push({ precision: 'f32', 'ms/step': outputs.f32ms.toFixed(0) });
  console.log(JSON.stringify(rows));
`], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
results.sections.precision = diff.status === 0 ? JSON.parse(diff.stdout.trim().split('\n').pop()) : { error: diff.stderr.slice(-800) };
save();
console.log('## fp16 and bf16 against f32, medium random transformer (12 blocks, 2048 wide), 1024x1024, CUDA\n');
console.log(Array.isArray(results.sections.precision) ? table(results.sections.precision) : JSON.stringify(results.sections.precision));

// 4. Memory pattern.
const pattern = [];
for (const setting of ['on', 'off']) {
  const m = run(['plan', '--model', full, '--size', '1024x1024', '--measure', 'streamed:6:6', '--steps', '3', '--json'], { STUDIO_MEM_PATTERN: setting, STUDIO_PRECISION: 'bf16' });
  const measured = m.status === 0 ? JSON.parse(m.stdout).measured : undefined;
  pattern.push({ 'memory pattern': setting, 'peak VRAM GB': measured?.peakVramBytes ? (measured.peakVramBytes / GB).toFixed(2) : m.stderr.trim().split('\n').pop(), 'ms/step': measured ? measured.msPerStep.map((x) => x.toFixed(0)).join(' / ') : '' });
}
results.sections.memoryPattern = pattern;
save();
console.log('## Memory pattern on CUDA (bf16, streamed:6:6)\n');
console.log(table(pattern));
