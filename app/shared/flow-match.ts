// Flow-matching Euler schedule with dynamic exponential time shift, as the Qwen-Image pipelines compute it.

import { z } from 'zod';

/** The flow-matching Euler sampler's settings, as recorded with each image. */
export const flowMatchSamplerSchema = z.object({
  name: z.literal('flow-match-euler'),
  shift: z.number(),
  useDynamicShifting: z.boolean(),
  timeShiftType: z.enum(['exponential', 'linear']),
  baseShift: z.number(),
  maxShift: z.number(),
  baseImageSeqLen: z.number(),
  maxImageSeqLen: z.number(),
  shiftTerminal: z.number().nullable(),
  numTrainTimesteps: z.number(),
});
export type FlowMatchSamplerSettings = z.infer<typeof flowMatchSamplerSchema>;
type SamplerSettings = FlowMatchSamplerSettings;

/** The scheduler_config.json of Qwen/Qwen-Image. */
export const QWEN_IMAGE_DEFAULT_SAMPLER: SamplerSettings = {
  name: 'flow-match-euler',
  shift: 1,
  useDynamicShifting: true,
  timeShiftType: 'exponential',
  baseShift: 0.5,
  maxShift: 0.9,
  baseImageSeqLen: 256,
  maxImageSeqLen: 8192,
  shiftTerminal: 0.02,
  numTrainTimesteps: 1000,
};

/** The configuration published with Qwen-Image-Lightning: the shift is pinned at ln 3, no terminal stretch. */
export const LIGHTNING_SAMPLER: SamplerSettings = {
  ...QWEN_IMAGE_DEFAULT_SAMPLER,
  baseShift: Math.log(3),
  maxShift: Math.log(3),
  shiftTerminal: null,
};

export interface FlowMatchSchedule {
  readonly imageSeqLen: number;
  readonly mu: number;
  /** steps + 1 values from near 1 down to exactly 0. */
  readonly sigmas: readonly number[];
  /** steps values, sigma * numTrainTimesteps. */
  readonly timesteps: readonly number[];
}

const f32 = Math.fround;

/** Image tokens after 8x VAE downsampling and 2x2 patch packing. */
export function imageSeqLen(width: number, height: number): number {
  return Math.floor(height / 16) * Math.floor(width / 16);
}

/** mu grows linearly with the image token count (not clamped, as in the reference pipeline). */
export function computeMu(seqLen: number, s: SamplerSettings): number {
  const m = (s.maxShift - s.baseShift) / (s.maxImageSeqLen - s.baseImageSeqLen);
  const b = s.baseShift - m * s.baseImageSeqLen;
  return seqLen * m + b;
}

/** numpy.linspace(start, stop, n) in float64, last value exact. */
function linspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  const out = Array.from({ length: n }, (_, i) => i * step + start);
  out[n - 1] = stop;
  return out;
}

/**
 * The schedule for `steps` Euler steps at the given size. Arithmetic is rounded to float32 where the
 * reference works in float32, so sigmas match it to ~1e-7.
 *
 * One deliberate difference: with a terminal stretch and a single step the reference divides 0 by 0 and
 * produces NaN sigmas (a black image); here the stretch is skipped for one step.
 */
export function flowMatchSchedule(steps: number, width: number, height: number, s: SamplerSettings): FlowMatchSchedule {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const seqLen = imageSeqLen(width, height);
  const mu = computeMu(seqLen, s);
  const input = linspace(1, 1 / steps, steps).map(f32);
  let sigmas: number[];
  if (s.useDynamicShifting) {
    const emu = f32(Math.exp(mu));
    sigmas = input.map((t) => {
      // The exponent on (1/t - 1) is 1.0 in every published config, so it is left out.
      const base = f32(f32(1 / t) - 1);
      return s.timeShiftType === 'exponential' ? f32(emu / f32(emu + base)) : f32(mu / f32(mu + base));
    });
  } else {
    sigmas = input.map((t) => f32(f32(s.shift * t) / f32(1 + f32((s.shift - 1) * t))));
  }
  if (s.shiftTerminal !== null && steps > 1) {
    const last = sigmas[sigmas.length - 1] ?? 0;
    const scale = f32(f32(1 - last) / f32(1 - s.shiftTerminal));
    sigmas = sigmas.map((t) => f32(1 - f32(f32(1 - t) / scale)));
  }
  const timesteps = sigmas.map((t) => f32(t * s.numTrainTimesteps));
  return { imageSeqLen: seqLen, mu, sigmas: [...sigmas, 0], timesteps };
}

/** Sampler settings from a diffusers scheduler_config.json (FlowMatchEulerDiscreteScheduler). */
export function samplerFromSchedulerConfig(c: Readonly<Record<string, unknown>>): SamplerSettings {
  const num = (key: string, fallback: number): number => (typeof c[key] === 'number' ? (c[key]) : fallback);
  return {
    name: 'flow-match-euler',
    shift: num('shift', 1),
    useDynamicShifting: c.use_dynamic_shifting === true,
    timeShiftType: c.time_shift_type === 'linear' ? 'linear' : 'exponential',
    baseShift: num('base_shift', 0.5),
    maxShift: num('max_shift', 1.15),
    baseImageSeqLen: num('base_image_seq_len', 256),
    maxImageSeqLen: num('max_image_seq_len', 4096),
    shiftTerminal: typeof c.shift_terminal === 'number' ? c.shift_terminal : null,
    numTrainTimesteps: num('num_train_timesteps', 1000),
  };
}

/** The scheduler_config.json text for sampler settings (the inverse of samplerFromSchedulerConfig). */
export function schedulerConfigFor(s: SamplerSettings): Record<string, unknown> {
  return {
    _class_name: 'FlowMatchEulerDiscreteScheduler',
    base_image_seq_len: s.baseImageSeqLen,
    base_shift: s.baseShift,
    max_image_seq_len: s.maxImageSeqLen,
    max_shift: s.maxShift,
    num_train_timesteps: s.numTrainTimesteps,
    shift: s.shift,
    shift_terminal: s.shiftTerminal,
    time_shift_type: s.timeShiftType,
    use_dynamic_shifting: s.useDynamicShifting,
  };
}
