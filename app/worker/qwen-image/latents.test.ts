// The end-to-end comparison with diffusers runs in fixtures/fixture-check.test.ts; these pin the layout.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FixtureCases } from '../fixtures/fixture-folder.js';
import { packLatents, trueCfg, unpackLatents } from './latents.js';

const root = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;

describe('Qwen-Image latent layout', () => {
  let cases: FixtureCases;
  beforeAll(async () => {
    cases = await FixtureCases.open(join(root, 'pipeline', 'cases.safetensors'));
  });

  it('packs latents as diffusers does', async () => {
    const c = 'default_2step_64x64';
    const [, , ch, h, w] = cases.shape(`${c}.initial_noise_unpacked`) as number[];
    const packed = packLatents(await cases.floats(`${c}.initial_noise_unpacked`), ch!, h!, w!);
    expect([...packed]).toEqual([...(await cases.floats(`${c}.initial_latents_packed`))]);
  });

  it('unpacks back to the same latents', async () => {
    const c = 'lightning_4step_48x80';
    const [, , ch, h, w] = cases.shape(`${c}.initial_noise_unpacked`) as number[];
    const noise = await cases.floats(`${c}.initial_noise_unpacked`);
    expect([...unpackLatents(packLatents(noise, ch!, h!, w!), ch!, h!, w!)]).toEqual([...noise]);
  });

  it('rescales true-CFG output per token to the conditional norm', () => {
    const out = trueCfg(Float32Array.of(3, 4, 0, 1), Float32Array.of(0, 0, 0, 0), 2, 2);
    expect([...out]).toEqual([3, 4, 0, 1]);
    const mixed = trueCfg(Float32Array.of(1, 0), Float32Array.of(0, 1), 4, 2);
    expect(Math.hypot(mixed[0]!, mixed[1]!)).toBeCloseTo(1, 6);
  });
});
