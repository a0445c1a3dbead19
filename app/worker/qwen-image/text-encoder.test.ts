import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, FixtureCases } from '../fixtures/fixture-folder.js';
import { openWeightSet } from '../safetensors/weight-set.js';
import { parseTextEncoderConfig } from './text-encoder-config.js';
import { QwenTextEncoder } from './text-encoder-model.js';

const dir = new URL('../../../test-fixtures/qwen-image/text_encoder/', import.meta.url).pathname;
const tol = { atol: 1e-4, rtol: 1e-4 };

describe('Qwen2.5-VL text encoder against transformers', () => {
  let model: QwenTextEncoder;
  let cases: FixtureCases;
  beforeAll(async () => {
    const weights = await openWeightSet(dir, ['model'], dir, 'text encoder');
    const config = parseTextEncoderConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, 'config.json');
    model = await QwenTextEncoder.open(weights, config, { intraOpThreads: 1 });
    cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  });
  afterAll(() => model.release());

  it.each(['single', 'batch_padded'])('%s: last hidden state and prompt embeddings', async (name) => {
    const [batch] = cases.shape(`${name}.input_ids`) as [number];
    const ids = await cases.ints(`${name}.input_ids`);
    const mask = await cases.ints(`${name}.attention_mask`);
    const state = await model.lastHiddenState(ids, mask, batch);
    expect(compare(state, await cases.floats(`${name}.last_hidden_state`), tol.atol, tol.rtol)).toMatchObject({ failures: 0 });
    const prompt = await model.promptEmbeds(ids, mask, batch);
    expect(prompt.maxLength).toBe(cases.shape(`${name}.prompt_embeds`)[1]);
    expect(compare(prompt.embeds, await cases.floats(`${name}.prompt_embeds`), tol.atol, tol.rtol)).toMatchObject({ failures: 0 });
    const expectedMask = await cases.ints(`${name}.prompt_embeds_mask`);
    const lengths = Array.from({ length: batch }, (_, b) => expectedMask.slice(b * prompt.maxLength, (b + 1) * prompt.maxLength).reduce((a, v) => a + v, 0));
    expect(prompt.lengths).toEqual(lengths);
  });
});
