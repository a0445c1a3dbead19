// Streaming the transformer in groups of blocks bounds peak host memory: measured in fresh processes
// (`studio plan --measure`) on a random bf16 transformer, whose blocks the CPU provider widens to float32.
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
  peakLoadedParts: number;
  msPerStep: number[];
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

  it('holds the head, the tail and two groups at a time, and peak memory drops by the blocks left out', () => {
    const resident = measure('resident');
    const streamed = measure('streamed:1');
    // The budget: everything resident, less the float32 copies of the blocks a 1-block stream never holds
    // at once (it keeps the first group pinned and one more arriving), plus 60 MB for allocator slack.
    const budget = resident.peakRssBytes - (LAYERS - 2) * BLOCK_F32 + 60 * MB;
    console.log(`peak RSS: resident ${(resident.peakRssBytes / MB).toFixed(0)} MB, streamed:1 ${(streamed.peakRssBytes / MB).toFixed(0)} MB, budget ${(budget / MB).toFixed(0)} MB`);
    expect(resident.peakLoadedParts).toBe(1);
    expect(streamed.peakLoadedParts).toBe(4);
    expect(streamed.peakRssBytes).toBeLessThan(budget);
  }, 60_000);
});
