// Every sampler the studio runs, by name: the settings recorded with an image (one schema per kind) and
// the names other tools use for them in A1111-style parameters.

import { z } from 'zod';
import { discreteSamplerSchema, type DiscreteSamplerSettings } from './discrete-samplers.js';
import { flowMatchSamplerSchema, type FlowMatchSamplerSettings } from './flow-match.js';

export const samplerSchema = z.discriminatedUnion('name', [flowMatchSamplerSchema, discreteSamplerSchema]);
export type SamplerSettings = FlowMatchSamplerSettings | DiscreteSamplerSettings;
export type SamplerName = SamplerSettings['name'];

/** The sampler and schedule type as A1111/Forge write them (so Civitai and other readers recognise them). */
export function a1111Sampler(s: SamplerSettings): { sampler: string; schedule: string } {
  switch (s.name) {
    case 'flow-match-euler':
      return { sampler: 'Euler', schedule: 'Flow match (exponential shift)' };
    case 'euler':
      return { sampler: 'Euler', schedule: discreteScheduleName(s) };
    case 'euler-ancestral':
      return { sampler: 'Euler a', schedule: discreteScheduleName(s) };
    case 'lcm':
      return { sampler: 'LCM', schedule: 'Automatic' };
  }
}

/** Trailing spacing (the turbo models') is what A1111 calls "SGM Uniform". */
function discreteScheduleName(s: DiscreteSamplerSettings): string {
  return s.timestepSpacing === 'trailing' ? 'SGM Uniform' : 'Automatic';
}

/** How the UI names a sampler. */
export function samplerLabel(s: SamplerSettings): string {
  const { sampler, schedule } = a1111Sampler(s);
  return `${sampler} (${schedule})`;
}

/** The recorded settings in one line: the name and what shapes its schedule. */
export function samplerSummary(s: SamplerSettings): string {
  switch (s.name) {
    case 'flow-match-euler':
      return `${s.name}, shift ${s.timeShiftType} μ∈[${s.baseShift.toFixed(3)}, ${s.maxShift.toFixed(3)}]`;
    case 'euler':
    case 'euler-ancestral':
      return `${s.name}, ${s.timestepSpacing} spacing, ${s.predictionType}`;
    case 'lcm':
      return `${s.name}, ${s.originalInferenceSteps}-step grid, ${s.predictionType}`;
  }
}
