import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, FixtureCases } from '../fixtures/fixture-folder.js';
import { openWeightSet } from '../safetensors/weight-set.js';
import { parseVaeConfig } from './vae-config.js';
import { QwenVae } from './vae-model.js';

const dir = new URL('../../../test-fixtures/qwen-image/vae/', import.meta.url).pathname;
const tol = { atol: 2e-4, rtol: 1e-4 };

describe('Qwen-Image VAE against diffusers', () => {
  let vae: QwenVae;
  let cases: FixtureCases;
  beforeAll(async () => {
    const weights = await openWeightSet(dir, ['diffusion_pytorch_model'], dir, 'VAE');
    vae = await QwenVae.open(weights, parseVaeConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, 'config.json'), { intraOpThreads: 1 });
    cases = await FixtureCases.open(join(dir, 'cases.safetensors'));
  });
  afterAll(() => vae.release());

  it.each(['decode_8x8', 'decode_6x10'])('%s', async (name) => {
    const [, , , h, w] = cases.shape(`${name}.z`) as number[];
    const out = await vae.decode(await cases.floats(`${name}.z`), 1, h!, w!);
    expect(compare(out, await cases.floats(`${name}.sample`), tol.atol, tol.rtol)).toMatchObject({ failures: 0 });
  });

  it('encode_64x64', async () => {
    const out = await vae.encode(await cases.floats('encode_64x64.x'), 1, 64, 64);
    expect(compare(out.mean, await cases.floats('encode_64x64.mean'), tol.atol, tol.rtol)).toMatchObject({ failures: 0 });
    expect(compare(out.logvar, await cases.floats('encode_64x64.logvar'), tol.atol, tol.rtol)).toMatchObject({ failures: 0 });
  });
});
