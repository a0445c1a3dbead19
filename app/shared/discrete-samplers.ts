// The discrete-time samplers of the Stable Diffusion family (Euler, Euler ancestral, LCM): their settings
// as recorded with an image, read from a diffusers scheduler_config.json, and their timestep/sigma
// schedules, computed with the reference implementations' float32 rounding.

import { z } from 'zod';

export const DISCRETE_SAMPLER_NAMES = ['euler', 'euler-ancestral', 'lcm'] as const;
export type DiscreteSamplerName = (typeof DISCRETE_SAMPLER_NAMES)[number];

/** A discrete-time sampler's settings, as recorded with each image. */
export const discreteSamplerSchema = z.object({
  name: z.enum(DISCRETE_SAMPLER_NAMES),
  numTrainTimesteps: z.number().int().positive().max(100_000),
  betaStart: z.number(),
  betaEnd: z.number(),
  betaSchedule: z.enum(['scaled_linear', 'linear']),
  predictionType: z.enum(['epsilon', 'v_prediction']),
  /** How inference timesteps are spread over the training ones (Euler samplers; LCM has its own grid). */
  timestepSpacing: z.enum(['trailing', 'leading', 'linspace']),
  stepsOffset: z.number(),
  /** LCM: the distillation's step grid (50 steps) and its boundary-condition time scaling (10). */
  originalInferenceSteps: z.number().int().positive().max(100_000),
  timestepScaling: z.number(),
});
export type DiscreteSamplerSettings = z.infer<typeof discreteSamplerSchema>;

/** The turbo models' sampler (stabilityai/sdxl-turbo's scheduler): Euler ancestral, trailing spacing. */
export const TURBO_EULER_ANCESTRAL: DiscreteSamplerSettings = {
  name: 'euler-ancestral',
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  predictionType: 'epsilon',
  timestepSpacing: 'trailing',
  stepsOffset: 1,
  originalInferenceSteps: 50,
  timestepScaling: 10,
};

/** LCM with the SD/SDXL training schedule: what LCM-LoRA is used with. */
export const LCM_SAMPLER: DiscreteSamplerSettings = { ...TURBO_EULER_ANCESTRAL, name: 'lcm', timestepSpacing: 'leading' };

const f32 = Math.fround;

/** Settings from a scheduler config, for the named sampler (a speed LoRA may pick LCM over the folder's Euler). */
export function discreteSamplerFromConfig(c: Readonly<Record<string, unknown>>, name?: DiscreteSamplerName): DiscreteSamplerSettings {
  const num = (key: string, fallback: number): number => {
    const v = c[key];
    return typeof v === 'number' ? v : fallback;
  };
  const str = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = c[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) throw new Error(`scheduler ${key} ${JSON.stringify(v)} is not supported (${allowed.join(', ')})`);
    return v as T;
  };
  const className = typeof c._class_name === 'string' ? c._class_name : '';
  const byClass: DiscreteSamplerName = className === 'LCMScheduler' ? 'lcm' : className === 'EulerAncestralDiscreteScheduler' ? 'euler-ancestral' : 'euler';
  if (c.trained_betas !== undefined && c.trained_betas !== null) throw new Error('scheduler trained_betas are not supported');
  if (c.use_karras_sigmas === true || c.use_exponential_sigmas === true || c.use_beta_sigmas === true) throw new Error('scheduler karras/exponential/beta sigmas are not supported');
  if (c.rescale_betas_zero_snr === true) throw new Error('scheduler rescale_betas_zero_snr is not supported');
  return {
    name: name ?? byClass,
    numTrainTimesteps: num('num_train_timesteps', 1000),
    betaStart: num('beta_start', 0.00085),
    betaEnd: num('beta_end', 0.012),
    betaSchedule: str('beta_schedule', ['scaled_linear', 'linear'] as const, 'scaled_linear'),
    predictionType: str('prediction_type', ['epsilon', 'v_prediction'] as const, 'epsilon'),
    timestepSpacing: str('timestep_spacing', ['trailing', 'leading', 'linspace'] as const, 'linspace'),
    stepsOffset: num('steps_offset', 0),
    originalInferenceSteps: num('original_inference_steps', 50),
    timestepScaling: num('timestep_scaling', 10),
  };
}

/**
 * torch.linspace in float32 as PyTorch's CPU kernel computes it: eight values at a time from a base that is
 * start + step * i (or end - step * (n - 1 - i) past the middle) rounded once, plus k * step.
 */
function torchLinspaceF32(start: number, end: number, n: number): Float32Array {
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  const out = new Float32Array(n);
  for (let i0 = 0; i0 < n; i0 += 8) {
    const base = i0 < half ? f32(s + step * i0) : f32(e - step * (n - i0 - 1));
    for (let k = 0; k < 8 && i0 + k < n; k++) out[i0 + k] = k === 0 ? base : f32(base + f32(k * step));
  }
  return out;
}

const cumprodCache = new Map<string, Float32Array>();

/** alphas_cumprod (float32): cumulative product of 1 - beta, accumulated in double as torch.cumprod does. */
export function alphasCumprod(s: DiscreteSamplerSettings): Float32Array {
  const key = `${s.betaSchedule}:${s.betaStart}:${s.betaEnd}:${s.numTrainTimesteps}`;
  const cached = cumprodCache.get(key);
  if (cached) return cached;
  const n = s.numTrainTimesteps;
  const betas = s.betaSchedule === 'scaled_linear' ? torchLinspaceF32(Math.sqrt(s.betaStart), Math.sqrt(s.betaEnd), n).map((b) => f32(b * b)) : torchLinspaceF32(s.betaStart, s.betaEnd, n);
  const out = new Float32Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    acc *= f32(1 - betas[i]!);
    out[i] = acc;
  }
  cumprodCache.set(key, out);
  return out;
}

/** The training sigmas sqrt((1 - a) / a), float32, index = timestep. */
export function trainSigmas(s: DiscreteSamplerSettings): Float32Array {
  return alphasCumprod(s).map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

export interface DiscreteSchedule {
  /** The timestep value the UNet receives at each step. */
  readonly timesteps: readonly number[];
  /** Euler samplers: steps + 1 values ending in 0. LCM: empty. */
  readonly sigmas: readonly number[];
  /** What unit-variance noise is multiplied by to start denoising. */
  readonly initNoiseSigma: number;
}

/** numpy.interp at x over xp = 0..n-1. */
function interp(x: number, table: Float32Array): number {
  if (x <= 0) return table[0]!;
  if (x >= table.length - 1) return table[table.length - 1]!;
  const i = Math.floor(x);
  const t = x - i;
  return t === 0 ? table[i]! : table[i]! + (table[i + 1]! - table[i]!) * t;
}

function eulerTimesteps(steps: number, s: DiscreteSamplerSettings): number[] {
  const n = s.numTrainTimesteps;
  switch (s.timestepSpacing) {
    case 'trailing': {
      const ratio = n / steps;
      const out: number[] = [];
      for (let i = 0; i < steps; i++) out.push(f32(Math.round(n - i * ratio)) - 1);
      return out;
    }
    case 'leading': {
      const ratio = Math.floor(n / steps);
      return Array.from({ length: steps }, (_, i) => f32(Math.round((steps - 1 - i) * ratio)) + s.stepsOffset);
    }
    case 'linspace': {
      // numpy.linspace(0, n - 1, steps) in float64, the last value exact, then float32 and reversed.
      const values = Array.from({ length: steps }, (_, i) => (steps === 1 ? 0 : i === steps - 1 ? n - 1 : i * ((n - 1) / (steps - 1))));
      return values.reverse().map(f32);
    }
  }
}

/** The LCM grid: `originalInferenceSteps` evenly spaced training timesteps, N picked from them. */
function lcmTimesteps(steps: number, s: DiscreteSamplerSettings): number[] {
  const k = Math.floor(s.numTrainTimesteps / s.originalInferenceSteps);
  const origin = Array.from({ length: s.originalInferenceSteps }, (_, i) => (i + 1) * k - 1).reverse();
  if (steps > origin.length) throw new RangeError(`LCM runs at most ${origin.length} steps, not ${steps}`);
  // numpy: floor(linspace(0, len, N, endpoint=False)), i.e. floor(i * (len / N)) in float64.
  return Array.from({ length: steps }, (_, i) => origin[Math.floor(i * (origin.length / steps))]!);
}

/**
 * The schedule for `steps` steps. Image-to-image passes `strength` < 1: the last floor(steps * strength)
 * steps of the full schedule run (the img2img pipelines' get_timesteps), starting from the image's latents
 * noised to the first of them.
 */
export function discreteSchedule(steps: number, s: DiscreteSamplerSettings, strength = 1): DiscreteSchedule {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const keep = strength >= 1 ? steps : Math.min(steps, Math.floor(steps * strength));
  if (keep < 1) throw new RangeError(`steps x strength must be at least 1 (${steps} x ${strength})`);
  const from = steps - keep;
  if (s.name === 'lcm') return { timesteps: lcmTimesteps(steps, s).slice(from), sigmas: [], initNoiseSigma: 1 };
  const table = trainSigmas(s);
  const all = eulerTimesteps(steps, s);
  const allSigmas = [...all.map((t) => f32(interp(t, table))), 0];
  const max = Math.max(...allSigmas);
  return {
    timesteps: all.slice(from),
    sigmas: allSigmas.slice(from),
    initNoiseSigma: s.timestepSpacing === 'leading' ? f32(Math.sqrt(f32(f32(max * max) + 1))) : max,
  };
}
