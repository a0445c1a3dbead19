import { describe, expect, it } from 'vitest';
import { discreteSamplerFromConfig, discreteSchedule } from '../../shared/discrete-samplers.js';
import { NoiseStream } from '../noise.js';
import { openSdPipeline } from './sd-components.js';
import { DiscreteSampler } from './sampler-steps.js';

const fixtures = new URL('../../../test-fixtures/sdxl/', import.meta.url).pathname;
const session = { intraOpThreads: 1 };
const turbo = discreteSamplerFromConfig({ _class_name: 'EulerAncestralDiscreteScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, timestep_spacing: 'trailing', steps_offset: 1 });

describe('image-to-image', () => {
  it('runs the last steps x strength steps of the schedule (at least one)', () => {
    expect(discreteSchedule(2, turbo, 0.5).timesteps).toEqual([499]);
    expect(discreteSchedule(4, turbo, 0.5).timesteps).toEqual([499, 249]);
    expect(discreteSchedule(4, turbo, 1).timesteps).toEqual([999, 749, 499, 249]);
    expect(() => discreteSchedule(2, turbo, 0.4)).toThrow(/steps x strength must be at least 1/);
    const lcm = { ...turbo, name: 'lcm' as const };
    expect(discreteSchedule(4, lcm, 0.5).timesteps).toEqual([499, 259]);
  });

  it('noises the image latents to the first kept step: x + sigma * noise (Euler), sqrt(a) x + sqrt(1 - a) noise (LCM)', () => {
    const schedule = discreteSchedule(2, turbo, 0.5);
    const latents = Float32Array.of(1, -2);
    const noise = Float32Array.of(0.5, 0.25);
    const noised = new DiscreteSampler(turbo, schedule).noisedImage(latents, noise);
    expect(noised[0]).toBeCloseTo(1 + 0.5 * schedule.sigmas[0]!, 5);
    const lcm = { ...turbo, name: 'lcm' as const };
    const lcmSchedule = discreteSchedule(4, lcm, 0.5);
    const a = new DiscreteSampler(lcm, lcmSchedule).noisedImage(latents, noise);
    expect(a[1]).toBeLessThan(0);
  });

  it('encodes an image with the VAE and denoises from it, reproducibly from the seed', async () => {
    const { pipeline } = await openSdPipeline({ textEncoder: `${fixtures}text_encoder`, textEncoder2: `${fixtures}text_encoder_2`, unet: `${fixtures}unet`, vae: `${fixtures}vae`, root: fixtures }, session);
    try {
      const ids = [998, 5, 6, 7, 999, ...new Array<number>(72).fill(999)];
      const ids2 = [998, 5, 6, 7, 999, ...new Array<number>(72).fill(0)];
      const prompt = await pipeline.encodePrompt(ids, ids2);
      const pixels = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i / 50));
      const run = async (strength: number) => {
        const stream = new NoiseStream(11);
        const latents = await pipeline.encodeImage(pixels, 64, 64, stream.draw(4 * 8 * 8));
        const trace = await pipeline.denoise({
          prompt,
          guidance: 0,
          width: 64,
          height: 64,
          steps: 4,
          sampler: turbo,
          noise: stream.draw(4 * 8 * 8),
          drawNoise: (n) => stream.draw(n),
          image: { latents, strength },
        });
        return { trace, latents };
      };
      const half = await run(0.5);
      expect(half.trace.timesteps).toEqual([499, 249]);
      expect(half.trace.unetOutputs).toHaveLength(2);
      expect(half.latents.every(Number.isFinite)).toBe(true);
      expect((await run(0.5)).trace.latents).toEqual(half.trace.latents);
      expect((await run(0.75)).trace.timesteps).toEqual([749, 499, 249]);
    } finally {
      await pipeline.release();
    }
  });
});
