// Benchmark: LoRAs on CPU. Style switch and strength change latency with style slots (inputs swapped,
// no new session) against rebuilding the session, and time per step with 0, 1 and 3 style LoRAs and
// with the speed LoRA as a fixed side branch. Prints a table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomTransformer } from '../dist/app/worker/demo/tiny-qwen-image.js';
import { openTransformer } from '../dist/app/worker/qwen-image/components.js';
import { styleTargets } from '../dist/app/worker/qwen-image/transformer-graph.js';
import { parseTransformerConfig } from '../dist/app/worker/qwen-image/transformer-config.js';
import { loadLora } from '../dist/app/worker/lora/lora-weights.js';
import { prepareStyle } from '../dist/app/worker/lora/style-slots.js';
import { encodeSafetensors } from '../dist/app/worker/safetensors/safetensors.js';
import { gaussianNoise } from '../dist/app/worker/noise.js';

const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();
const RANK = 16;
const sizes = [
  { label: 'tiny (demo size)', num_layers: 2, num_attention_heads: 2, attention_head_dim: 32, joint_attention_dim: 32, axes_dims_rope: [8, 12, 12] },
  { label: 'medium', num_layers: 8, num_attention_heads: 12, attention_head_dim: 64, joint_attention_dim: 512, axes_dims_rope: [16, 24, 24] },
];

function writeLora(file, cfg, seed) {
  const tensors = [];
  let s = seed;
  for (const [module, [outF, inF]] of styleTargets(cfg)) {
    const down = gaussianNoise(s++, RANK * inF).map((v) => v / Math.sqrt(inF));
    const up = gaussianNoise(s++, outF * RANK).map((v) => v * 0.05);
    tensors.push({ name: `${module}.lora_down.weight`, dtype: 'F32', shape: [RANK, inF], data: new Uint8Array(down.buffer) });
    tensors.push({ name: `${module}.lora_up.weight`, dtype: 'F32', shape: [outF, RANK], data: new Uint8Array(up.buffer) });
  }
  writeFileSync(file, encodeSafetensors(tensors));
}

async function median(fn, n = 5) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn(i);
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(n / 2)];
}

const rows = [];
for (const { label, ...raw } of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-lora-'));
  const rawCfg = { ...raw, in_channels: 64, out_channels: 16, patch_size: 2 };
  await writeRandomTransformer(dir, rawCfg, 'F32');
  const cfg = parseTransformerConfig(rawCfg, 'config.json');
  const loraFiles = [0, 1, 2, 3].map((i) => join(dir, `style-${i}.safetensors`));
  loraFiles.forEach((f, i) => writeLora(f, cfg, 100 + i * 10_000));
  const grid = 32;
  const input = {
    hidden: new Float32Array(grid * grid * 64).fill(0.1),
    batch: 1,
    gridH: grid,
    gridW: grid,
    encoder: new Float32Array(24 * raw.joint_attention_dim).fill(0.1),
    textTokens: 24,
    textLengths: [24],
    timesteps: Float32Array.of(0.5),
  };
  const session = { intraOpThreads: threads };

  const plain = await openTransformer(dir, dir, session);
  await plain.run(input);
  const step0 = await median(() => plain.run(input));
  await plain.release();

  const slotted = await openTransformer(dir, dir, session, [], { count: 3, rank: RANK });
  const layout = slotted.styleLayout;
  const prepared = [];
  const prepMs = await median(async (i) => {
    prepared[i % 4] = await prepareStyle(await loadLora(loraFiles[i % 4], slotted.weights), layout);
  }, 4);
  await slotted.run(input);
  const slots0 = await median(() => slotted.run(input, [], [0, 0, 0]));
  await slotted.setStyle(0, prepared[0]);
  const step1 = await median(() => slotted.run(input, [], [1, 0, 0]));
  await slotted.setStyle(1, prepared[1]);
  await slotted.setStyle(2, prepared[2]);
  const step3 = await median(() => slotted.run(input, [], [1, 0.8, 0.6]));
  const switchMs = await median((i) => slotted.setStyle(0, prepared[(i % 2) + 2]));
  const strengthMs = await median((i) => slotted.run(input, [], [0.5 + i / 10, 0.8, 0.6]));
  await slotted.release();

  const rebuildMs = await median(async (i) => {
    const m = await openTransformer(dir, dir, session, [loraFiles[i % 4]]);
    await m.release();
  }, 3);
  const speed = await openTransformer(dir, dir, session, [loraFiles[3]]);
  await speed.run(input);
  const stepSpeed = await median(() => speed.run(input, [1]));
  await speed.release();
  rmSync(dir, { recursive: true, force: true });

  rows.push({
    transformer: label,
    step_no_lora_ms: step0.toFixed(1),
    step_slots_empty_ms: slots0.toFixed(1),
    step_1_style_ms: step1.toFixed(1),
    step_3_styles_ms: step3.toFixed(1),
    step_speed_lora_fixed_ms: stepSpeed.toFixed(1),
    style_switch_ms: switchMs.toFixed(2),
    strength_change_step_ms: strengthMs.toFixed(1),
    prepare_style_ms: prepMs.toFixed(1),
    rebuild_session_ms: rebuildMs.toFixed(0),
  });
}
console.log(`LoRA benchmark: CPU provider, ${threads} threads, 512x512, rank-${RANK} LoRAs on all 12 block linears, 3 style slots`);
console.table(rows);
