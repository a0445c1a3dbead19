import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIGHTNING_SAMPLER, QWEN_IMAGE_DEFAULT_SAMPLER } from '../../shared/flow-match.js';
import { compare, FixtureCases } from '../fixtures/fixture-folder.js';
import { openPipeline } from './components.js';
import { packLatents } from './latents.js';
import type { QwenImagePipeline } from './pipeline.js';

const root = new URL('../../../test-fixtures/qwen-image/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(root, 'pipeline', 'manifest.json'), 'utf8')) as {
  cases: { name: string; scheduler_config: 'default' | 'lightning'; num_inference_steps: number; height: number; width: number; true_cfg_scale: number | null; lora_scale: number | null }[];
};

describe('Qwen-Image pipeline against diffusers', () => {
  let pipeline: QwenImagePipeline;
  let cases: FixtureCases;
  beforeAll(async () => {
    pipeline = await openPipeline(
      { textEncoder: join(root, 'text_encoder'), transformer: join(root, 'transformer'), vae: join(root, 'vae'), root },
      { intraOpThreads: 1 },
    );
    cases = await FixtureCases.open(join(root, 'pipeline', 'cases.safetensors'));
  });
  afterAll(() => pipeline.release());

  it('packs latents as diffusers does', async () => {
    const c = 'default_2step_64x64';
    const [, , ch, h, w] = cases.shape(`${c}.initial_noise_unpacked`) as number[];
    const packed = packLatents(await cases.floats(`${c}.initial_noise_unpacked`), ch!, h!, w!);
    expect([...packed]).toEqual([...(await cases.floats(`${c}.initial_latents_packed`))]);
  });

  const withoutLora = manifest.cases.filter((c) => c.lora_scale === null);
  it.each(withoutLora.map((c) => [c.name, c] as const))('%s end to end', async (name, c) => {
    const prompt = await pipeline.encodePrompt(await cases.ints(`${name}.input_ids`));
    expect(compare(prompt.embeds, await cases.floats(`${name}.prompt_embeds`), 1e-4, 1e-4).failures).toBe(0);
    const negative = cases.has(`${name}.negative_input_ids`) ? await pipeline.encodePrompt(await cases.ints(`${name}.negative_input_ids`)) : undefined;
    const trace = await pipeline.denoise({
      prompt,
      ...(negative ? { negative } : {}),
      trueCfgScale: c.true_cfg_scale ?? 1,
      latents: await cases.floats(`${name}.initial_latents_packed`),
      width: c.width,
      height: c.height,
      steps: c.num_inference_steps,
      sampler: c.scheduler_config === 'lightning' ? LIGHTNING_SAMPLER : QWEN_IMAGE_DEFAULT_SAMPLER,
    });
    const condExpected = await cases.floats(`${name}.noise_pred_cond_per_step`);
    const per = condExpected.length / c.num_inference_steps;
    trace.condPredictions.forEach((p, i) => expect(compare(p, condExpected.subarray(i * per, (i + 1) * per), 5e-4, 0).failures, `step ${i}`).toBe(0));
    if (negative) expect(trace.uncondPredictions).toHaveLength(c.num_inference_steps);
    expect(compare(trace.latents, await cases.floats(`${name}.final_latents_packed`), 1e-3, 0).failures).toBe(0);

    const out = await pipeline.decode(trace.latents, c.width, c.height);
    expect(compare(out.z, await cases.floats(`${name}.vae_input_z`), 1e-3, 0).failures).toBe(0);
    // image_np is (H, W, 3); ours is planar (3, H, W).
    const expected = await cases.floats(`${name}.image_np`);
    const plane = c.width * c.height;
    const interleaved = new Float32Array(expected.length);
    for (let i = 0; i < plane; i++) for (let ch = 0; ch < 3; ch++) interleaved[i * 3 + ch] = out.image[ch * plane + i]!;
    expect(compare(interleaved, expected, 2e-3, 0).failures).toBe(0);
  });
});
