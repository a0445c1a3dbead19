// Speed LoRAs and the settings they were distilled for: choosing one sets steps, guidance and sampler.

import type { SamplerSettings } from './generation.js';
import { LIGHTNING_SAMPLER } from './flow-match.js';

export interface SpeedPreset {
  readonly id: string;
  readonly label: string;
  readonly steps: number;
  /** Distilled models run without classifier-free guidance. */
  readonly guidance: number;
  readonly sampler: SamplerSettings;
  /** Recognises the LoRA by its file name (the published names carry family and step count). */
  readonly pattern: RegExp;
}

/**
 * Qwen-Image-Lightning publishes its sampler configuration (shift fixed at ln 3, no terminal stretch);
 * the Qwen-Image-2512 Turbo LoRAs are used with the same flow-match Euler sampler.
 */
export const SPEED_PRESETS: readonly SpeedPreset[] = [
  { id: 'lightning-8', label: 'Lightning 8-step', steps: 8, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /lightning.*8[-_ ]?steps?/i },
  { id: 'lightning-4', label: 'Lightning 4-step', steps: 4, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /lightning.*4[-_ ]?steps?/i },
  { id: 'turbo-2', label: 'Turbo 2-step', steps: 2, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /turbo.*2[-_ ]?steps?|2[-_ ]?steps?.*turbo/i },
  { id: 'turbo-4', label: 'Turbo 4-step', steps: 4, guidance: 1, sampler: LIGHTNING_SAMPLER, pattern: /turbo.*4[-_ ]?steps?|4[-_ ]?steps?.*turbo|turbo/i },
];

export function speedPresetFor(fileName: string): SpeedPreset | undefined {
  return SPEED_PRESETS.find((p) => p.pattern.test(fileName));
}

export function speedPresetById(id: string): SpeedPreset | undefined {
  return SPEED_PRESETS.find((p) => p.id === id);
}
