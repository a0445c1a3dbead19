// Streaming the transformer in groups of blocks bounds peak host memory, and the planner predicts it:
// measured in fresh processes (`studio plan --measure`) on a random bf16 transformer, whose blocks the CPU
// provider widens to float32, against the planner's prediction for the same plan (graph-derived weights and
// activations with the CPU's measured process size and allocator factors).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomTransformer } from '../demo/tiny-qwen-image.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;
const studioBin = new URL('../../../bin/studio.js', import.meta.url).pathname;
const LAYERS = 8;
const WIDTH = 512;
/** Weights of one block widened to float32: 4 attention + 2x2 MLP (4x) + 2 modulation (6x) linears per stream. */
const BLOCK_F32 = 2 * (4 + 8 + 6) * WIDTH * WIDTH * 4;
const MB = 1024 * 1024;

interface Measured {
  peakRssBytes: number;
  peakRssAfterStep: number[];
  peakLoadedParts: number;
  msPerStep: number[];
  predictedPeakBytes: number;
}

describe('streaming the transformer through a memory budget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwen-stream-'));
  beforeAll(async () => {
    await writeRandomTransformer(
      join(dir, 'transformer'),
      { attention_head_dim: 64, axes_dims_rope: [16, 24, 24], in_channels: 64, joint_attention_dim: 64, num_attention_heads: WIDTH / 64, num_layers: LAYERS, out_channels: 16, patch_size: 2 },
      'BF16',
    );
    for (const c of ['text_encoder', 'vae']) cpSync(join(fixtures, c), join(dir, c), { recursive: true });
    for (const d of ['scheduler', 'tokenizer']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'QwenImagePipeline' }));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const measure = (plan: string): Measured => {
    const r = spawnSync(process.execPath, [studioBin, 'plan', '--model', dir, '--size', '256x256', '--measure', plan, '--steps', '2', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, STUDIO_THREADS: '2' },
    });
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { measured: Measured }).measured;
  };

  it('holds the front, the tail and one group at a time, peak memory drops by the blocks left out, and the planner predicts both within 15%', () => {
    const resident = measure('resident');
    const streamed = measure('streamed:1');
    // A 1-block stream never holds LAYERS - 2 of the blocks (it keeps the first in its front session and
    // one more arriving); it pays a second activation peak (the front session's arena keeps its own).
    const leftOut = (LAYERS - 2) * BLOCK_F32;
    const row = (m: Measured) => `${(m.peakRssBytes / MB).toFixed(0)} MB (predicted ${(m.predictedPeakBytes / MB).toFixed(0)})`;
    console.log(`peak RSS: resident ${row(resident)}, streamed:1 ${row(streamed)}; blocks left out ${(leftOut / MB).toFixed(0)} MB`);
    expect(resident.peakLoadedParts).toBe(1);
    expect(streamed.peakLoadedParts).toBe(3);
    expect(resident.peakRssBytes - streamed.peakRssBytes).toBeGreaterThan(leftOut / 2);
    for (const m of [resident, streamed]) {
      expect(Math.abs(m.predictedPeakBytes - m.peakRssBytes) / m.peakRssBytes).toBeLessThan(0.15);
      // No growth after the first run beyond allocator noise (the memory pattern is off).
      expect(m.peakRssAfterStep[1]! - m.peakRssAfterStep[0]!).toBeLessThan(16 * MB);
    }
  }, 60_000);
});
