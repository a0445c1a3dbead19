// DirectML's MultiHeadAttention ignores `unidirectional` and takes a bias only as the full [B, heads, S, T]
// (onnx/provider-kernels.ts), so graphs built for DirectML carry causality in an explicit bias. No DirectML
// here: both forms of the real text encoders (tiny fixture weights) run on the CPU provider, which honours
// the causal attribute, and must agree; and the DirectML form must be causal on its own (a later token
// never changes an earlier position's state), which fails if the mask were lost.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Precision } from '../../shared/precision.js';
import { openWeightSet } from '../safetensors/weight-set.js';
import { ClipTextEncoder } from '../sd/clip-text-encoder.js';
import { readConfig } from './components.js';
import { parseTextEncoderConfig } from './text-encoder-config.js';
import { QwenTextEncoder } from './text-encoder-model.js';

const fixtures = new URL('../../../test-fixtures/', import.meta.url).pathname;
const session = { intraOpThreads: 1 };

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The first `rows` rows of [tokens, width] states. */
const head = (x: Float32Array, rows: number, width: number) => x.subarray(0, rows * width);

describe('attention in the graphs built for DirectML', () => {
  const clipDir = join(fixtures, 'sdxl', 'text_encoder');
  const clip = (target: 'cpu' | 'dml', precision: Precision) =>
    ClipTextEncoder.open(clipDir, clipDir, 'text_encoder', false, { hiddenIndex: 1, finalNorm: true, pooled: true }, session, [], { precision, target });

  it.each(['f32', 'fp16'] as const)('CLIP (%s): the explicit causal bias gives what the causal kernel gives, and stays causal', async (precision) => {
    const [cpu, dml] = await Promise.all([clip('cpu', precision), clip('dml', precision)]);
    // Token ids inside the fixture's vocabulary, read from its config.
    const vocab = cpu.config.vocabSize;
    const ids = [0.1, 0.32, 0.77, 0.5, 0.05, 0.9, 0.99, 0.99].map((f) => Math.floor(f * vocab));
    const width = cpu.config.hidden;
    const a = await cpu.run(ids, 1);
    const b = await dml.run(ids, 1);
    expect(maxDiff(a.hidden, b.hidden)).toBeLessThan(precision === 'f32' ? 1e-5 : 2e-3);
    expect(maxDiff(a.pooled!, b.pooled!)).toBeLessThan(precision === 'f32' ? 1e-5 : 2e-3);
    // Causal: changing the last token leaves every earlier position as it was, and changes the last one.
    const changed = await dml.run([...ids.slice(0, -1), Math.floor(vocab / 3)], 1);
    expect(maxDiff(head(b.hidden, ids.length - 1, width), head(changed.hidden, ids.length - 1, width))).toBe(0);
    expect(maxDiff(b.hidden, changed.hidden)).toBeGreaterThan(1e-3);
    await Promise.all([cpu.release(), dml.release()]);
  });

  it('the Qwen text encoder: a prompt alone and a right-padded batch give the same states in both forms', async () => {
    const dir = join(fixtures, 'qwen-image', 'text_encoder');
    const config = parseTextEncoderConfig(await readConfig(dir), join(dir, 'config.json'));
    const weights = await openWeightSet(dir, ['model'], dir, 'text encoder');
    const [cpu, dml] = await Promise.all(['cpu', 'dml'].map((target) => QwenTextEncoder.open(weights, config, session, [], undefined, { precision: 'f32', target: target as 'cpu' | 'dml' })));
    const width = config.hidden;
    const ids = [11, 25, 7, 300, 42, 9];
    const alone = [await cpu!.lastHiddenState(ids, ids.map(() => 1), 1), await dml!.lastHiddenState(ids, ids.map(() => 1), 1)];
    expect(maxDiff(alone[0]!, alone[1]!)).toBeLessThan(1e-5);
    const changed = await dml!.lastHiddenState([...ids.slice(0, -1), 77], ids.map(() => 1), 1);
    expect(maxDiff(head(alone[1]!, ids.length - 1, width), head(changed, ids.length - 1, width))).toBe(0);
    expect(maxDiff(alone[1]!, changed)).toBeGreaterThan(1e-3);
    // Two prompts, the second right-padded: the padded graph's [B, 1, L, L] bias, expanded for DirectML.
    const batch = [...ids, 5, 6, 8, 0, 0, 0];
    const mask = [...ids.map(() => 1), 1, 1, 1, 0, 0, 0];
    const padded = [await cpu!.lastHiddenState(batch, mask, 2), await dml!.lastHiddenState(batch, mask, 2)];
    expect(maxDiff(padded[0]!, padded[1]!)).toBeLessThan(1e-5);
    await Promise.all([cpu!.unload(), dml!.unload()]);
  });
});
