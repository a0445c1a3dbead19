import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, FixtureCases } from '../fixtures/fixture-folder.js';
import { openWeightSet } from '../safetensors/weight-set.js';
import { parseTransformerConfig } from './transformer-config.js';
import { QwenTransformer } from './transformer-model.js';

const dir = new URL('../../../test-fixtures/qwen-image/transformer/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
  cases: { name: string; img_shapes: [number, number, number][][]; inputs: Record<string, { key: string; shape: number[] }> }[];
  tolerance_suggestion: { atol: number; rtol: number };
};

describe('Qwen-Image transformer against diffusers', () => {
  let model: QwenTransformer;
  let cases: FixtureCases;
  beforeAll(async () => {
    const weights = await openWeightSet(dir, ['diffusion_pytorch_model'], dir, 'transformer');
    const config = parseTransformerConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, 'config.json');
    model = await QwenTransformer.open(weights, config, { intraOpThreads: 1 });
    cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  });
  afterAll(() => model.release());

  it.each(manifest.cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const [, gridH, gridW] = c.img_shapes[0]![0]!;
    const [batch, textTokens] = c.inputs.encoder_hidden_states!.shape as [number, number];
    const mask = await cases.ints(`${name}.encoder_hidden_states_mask`);
    const textLengths = Array.from({ length: batch }, (_, b) => mask.slice(b * textTokens, (b + 1) * textTokens).reduce((a, v) => a + v, 0));
    const out = await model.run({
      hidden: await cases.floats(`${name}.hidden_states`),
      batch,
      gridH,
      gridW,
      encoder: await cases.floats(`${name}.encoder_hidden_states`),
      textTokens,
      textLengths,
      timesteps: await cases.floats(`${name}.timestep`),
    });
    const { atol, rtol } = manifest.tolerance_suggestion;
    const r = compare(out, await cases.floats(`${name}.sample`), atol, rtol);
    expect(r, JSON.stringify(r)).toMatchObject({ failures: 0 });
  });
});
