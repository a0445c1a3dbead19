// One step of each discrete-time sampler, elementwise in float32 with the reference's order of operations
// (every intermediate rounded as a float32 tensor op would be), so a step matches diffusers to the last bit
// or two. Ancestral and LCM noise comes from the caller: the studio's seeded generator, or a fixture.

import { alphasCumprod, type DiscreteSamplerSettings, type DiscreteSchedule } from '../../shared/discrete-samplers.js';

const f32 = Math.fround;

export interface StepResult {
  readonly prev: Float32Array;
  /** The denoised estimate (x0 for Euler samplers, LCM's boundary-conditioned output). */
  readonly denoised: Float32Array;
}

/** The predicted clean sample from the model output at noise level sigma (Euler parameterisation). */
function eulerX0(sample: Float32Array, output: Float32Array, sigma: number, prediction: DiscreteSamplerSettings['predictionType']): Float32Array {
  const x0 = new Float32Array(sample.length);
  if (prediction === 'epsilon') {
    for (let i = 0; i < x0.length; i++) x0[i] = f32(sample[i]! - f32(sigma * output[i]!));
  } else {
    const s2 = f32(f32(sigma * sigma) + 1);
    const c = f32(-sigma / f32(Math.sqrt(s2)));
    for (let i = 0; i < x0.length; i++) x0[i] = f32(f32(output[i]! * c) + f32(sample[i]! / s2));
  }
  return x0;
}

/** x + (x - x0) / sigma * (target - sigma) */
function eulerMove(sample: Float32Array, x0: Float32Array, sigma: number, target: number): Float32Array {
  const dt = f32(target - sigma);
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(sample[i]! + f32(f32(f32(sample[i]! - x0[i]!) / sigma) * dt));
  return out;
}

export function ancestralSigmas(sigma: number, next: number): { up: number; down: number } {
  const s2 = f32(sigma * sigma);
  const n2 = f32(next * next);
  const up = f32(Math.sqrt(f32(f32(n2 * f32(s2 - n2)) / s2)));
  const down = f32(Math.sqrt(f32(n2 - f32(up * up))));
  return { up, down };
}

/**
 * Runs a schedule: scales the UNet input, takes steps, says which steps draw noise, and noises an image's
 * latents for image-to-image.
 */
export class DiscreteSampler {
  private readonly alphas: Float32Array;

  constructor(
    readonly settings: DiscreteSamplerSettings,
    readonly schedule: DiscreteSchedule,
  ) {
    this.alphas = alphasCumprod(settings);
  }

  get steps(): number {
    return this.schedule.timesteps.length;
  }

  timestep(i: number): number {
    return this.schedule.timesteps[i]!;
  }

  /** What the UNet is given at step i: x / sqrt(sigma^2 + 1) for Euler samplers, x itself for LCM. */
  scaleInput(x: Float32Array, i: number): Float32Array {
    if (this.settings.name === 'lcm') return x;
    const sigma = this.schedule.sigmas[i]!;
    const scale = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    return x.map((v) => f32(v / scale));
  }

  /** Euler ancestral draws at every step (also the last, where the draw is multiplied by 0); LCM at all but the last. */
  drawsNoise(i: number): boolean {
    switch (this.settings.name) {
      case 'euler':
        return false;
      case 'euler-ancestral':
        return true;
      case 'lcm':
        return i < this.steps - 1;
    }
  }

  step(output: Float32Array, i: number, sample: Float32Array, noise: Float32Array | undefined): StepResult {
    const s = this.settings;
    if (s.name === 'lcm') return this.lcmStep(output, i, sample, noise);
    const sigma = this.schedule.sigmas[i]!;
    const next = this.schedule.sigmas[i + 1]!;
    const x0 = eulerX0(sample, output, sigma, s.predictionType);
    if (s.name === 'euler') return { prev: eulerMove(sample, x0, sigma, next), denoised: x0 };
    const { up, down } = ancestralSigmas(sigma, next);
    const prev = eulerMove(sample, x0, sigma, down);
    if (!noise) throw new Error('Euler ancestral needs a noise draw at every step');
    for (let j = 0; j < prev.length; j++) prev[j] = f32(prev[j]! + f32(noise[j]! * up));
    return { prev, denoised: x0 };
  }

  private lcmStep(output: Float32Array, i: number, sample: Float32Array, noise: Float32Array | undefined): StepResult {
    const t = this.schedule.timesteps[i]!;
    const last = i === this.steps - 1;
    const tPrev = last ? t : this.schedule.timesteps[i + 1]!;
    const a = this.alphas[t]!;
    const aPrev = this.alphas[tPrev]!;
    const sqrtA = f32(Math.sqrt(a));
    const sqrtB = f32(Math.sqrt(f32(1 - a)));
    // The reference forms these from an int64 timestep tensor promoted to float32.
    const scaled = t * this.settings.timestepScaling;
    const denom = f32(f32(scaled * scaled) + 0.25);
    const cSkip = f32(0.25 / denom);
    const cOut = f32(f32(scaled) / f32(Math.sqrt(denom)));
    const denoised = new Float32Array(sample.length);
    for (let j = 0; j < denoised.length; j++) {
      const x0 =
        this.settings.predictionType === 'epsilon'
          ? f32(f32(sample[j]! - f32(sqrtB * output[j]!)) / sqrtA)
          : f32(f32(sqrtA * sample[j]!) - f32(sqrtB * output[j]!));
      denoised[j] = f32(f32(cOut * x0) + f32(cSkip * sample[j]!));
    }
    if (last) return { prev: denoised, denoised };
    if (!noise) throw new Error('LCM needs a noise draw before its last step');
    const sa = f32(Math.sqrt(aPrev));
    const sb = f32(Math.sqrt(f32(1 - aPrev)));
    const prev = denoised.map((d, j) => f32(f32(sa * d) + f32(sb * noise[j]!)));
    return { prev, denoised };
  }

  /** Text-to-image: unit noise times the schedule's initial sigma. */
  initialLatents(noise: Float32Array): Float32Array {
    const s = f32(this.schedule.initNoiseSigma);
    return s === 1 ? Float32Array.from(noise) : noise.map((v) => f32(v * s));
  }

  /** Image-to-image: the image's latents noised to the first timestep of the (shortened) schedule. */
  noisedImage(latents: Float32Array, noise: Float32Array): Float32Array {
    if (this.settings.name === 'lcm') {
      const a = this.alphas[this.schedule.timesteps[0]!]!;
      const sa = f32(Math.sqrt(a));
      const sb = f32(Math.sqrt(f32(1 - a)));
      return latents.map((x, j) => f32(f32(sa * x) + f32(sb * noise[j]!)));
    }
    const sigma = this.schedule.sigmas[0]!;
    return latents.map((x, j) => f32(x + f32(noise[j]! * sigma)));
  }
}
