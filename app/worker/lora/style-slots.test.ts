import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureCases } from '../fixtures/fixture-folder.js';
import { readConfig } from '../qwen-image/components.js';
import { parseTransformerConfig } from '../qwen-image/transformer-config.js';
import { QwenTransformer, type TransformerInput } from '../qwen-image/transformer-model.js';
import { encodeSafetensors } from '../safetensors/safetensors.js';
import { openWeightSet, type WeightSet } from '../safetensors/weight-set.js';
import { loadLora } from './lora-weights.js';
import { prepareStyle } from './style-slots.js';

const fixtures = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;
const transformerDir = join(fixtures, 'transformer');
const loraFile = join(fixtures, 'lora', 'lora_lightx2v_format.safetensors');
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('style slots: LoRAs switched by swapping session inputs', () => {
  let weights: WeightSet;
  let model: QwenTransformer;
  let input: TransformerInput;
  let cases: FixtureCases;
  beforeAll(async () => {
    weights = await openWeightSet(transformerDir, ['diffusion_pytorch_model'], transformerDir, 'transformer');
    const config = parseTransformerConfig(await readConfig(transformerDir), 'config.json');
    model = await QwenTransformer.open(weights, config, { intraOpThreads: 1 }, [], { count: 2, rank: 8 });
    cases = await FixtureCases.open(join(fixtures, 'lora', 'cases.safetensors'));
    input = {
      hidden: await cases.floats('hidden_states'),
      batch: 1,
      gridH: 4,
      gridW: 4,
      encoder: await cases.floats('encoder_hidden_states'),
      textTokens: 7,
      textLengths: [7],
      timesteps: await cases.floats('timestep'),
    };
  });
  afterAll(() => model.release());

  it('matches the reference merge at strengths 1.0 and 0.5, and is the base model at 0', async () => {
    const style = await prepareStyle(await loadLora(loraFile, weights), model.styleLayout!);
    await model.setStyle(0, style);
    expect(maxDiff(await model.run(input, [], [1, 0]), await cases.floats('sample_lora_scale_1.0'))).toBeLessThan(2e-4);
    expect(maxDiff(await model.run(input, [], [0.5, 0]), await cases.floats('sample_lora_scale_0.5'))).toBeLessThan(2e-4);
    expect(maxDiff(await model.run(input, [], [0, 0]), await cases.floats('sample_no_lora'))).toBeLessThan(2e-4);
  });

  it('stacks two styles and empties a slot without a new session', async () => {
    const style = await prepareStyle(await loadLora(loraFile, weights), model.styleLayout!);
    await model.setStyle(0, style);
    await model.setStyle(1, style);
    expect(maxDiff(await model.run(input, [], [0.5, 0.5]), await cases.floats('sample_lora_scale_1.0'))).toBeLessThan(2e-4);
    await model.setStyle(0, undefined);
    await model.setStyle(1, undefined);
    const emptied = await model.run(input, [], [1, 1]);
    expect([...emptied]).toEqual([...(await model.run(input, [], [0, 0]))]);
  });

  it('refuses a LoRA of higher rank than the slots hold', async () => {
    const big = join(mkdtempSync(join(tmpdir(), 'style-rank-')), 'rank16.safetensors');
    writeFileSync(
      big,
      encodeSafetensors([
        { name: 'transformer_blocks.0.attn.to_q.lora_down.weight', dtype: 'F32', shape: [16, 64], data: new Uint8Array(16 * 64 * 4) },
        { name: 'transformer_blocks.0.attn.to_q.lora_up.weight', dtype: 'F32', shape: [64, 16], data: new Uint8Array(16 * 64 * 4) },
      ]),
    );
    await expect(prepareStyle(await loadLora(big, weights), model.styleLayout!)).rejects.toThrow(/has rank 16; style slots hold at most rank 8/);
  });
});
