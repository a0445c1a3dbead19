// Speed LoRAs and the settings they were distilled for: choosing one sets steps, guidance and sampler.
// The presets themselves belong to their families (model-families.ts).

import { SPEED_PRESETS, type FamilyId, type SpeedPreset } from './model-families.js';

export { SPEED_PRESETS, type SpeedPreset } from './model-families.js';

/** The preset a LoRA file name announces; with a family, only that family's presets are considered. */
export function speedPresetFor(fileName: string, family?: FamilyId): SpeedPreset | undefined {
  return SPEED_PRESETS.find((p) => (family === undefined || p.family === family) && p.pattern.test(fileName));
}

export function speedPresetById(id: string): SpeedPreset | undefined {
  return SPEED_PRESETS.find((p) => p.id === id);
}
