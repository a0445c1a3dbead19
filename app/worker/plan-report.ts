// The plan report for a model at a size on this device: the planner's table, its choice, and any plan the
// user forced. Model sizes come from the family's reading of the safetensors headers and are kept per
// folder; the speed LoRA's side branch and the style slots are counted with the denoiser.

import { workerFamily } from './families.js';
import type { ModelFolder } from './model-folder.js';
import { readSafetensorsHeader, DTYPE_BYTES } from './safetensors/safetensors.js';
import { describePlan, planFor, type Adapters, type ComponentSizes, type ExecutionChoice, type PlanReport } from '../shared/vram-plan.js';
import type { Device } from './device.js';

const sizesByFolder = new Map<string, Promise<ComponentSizes>>();

/** LoRA weights as the graph holds them: every value as float32. */
async function loraBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) {
    const header = await readSafetensorsHeader(file);
    for (const t of header.tensors.values()) total += (t.byteLength / DTYPE_BYTES[t.dtype]) * 4;
  }
  return total;
}

export async function planReport(
  folder: ModelFolder,
  width: number,
  height: number,
  device: Device,
  forced?: ExecutionChoice,
  speedLoraFiles: readonly string[] = [],
  styleCount = 0,
): Promise<{ report: PlanReport; sizes: ComponentSizes; adapters: Adapters }> {
  let sizes = sizesByFolder.get(folder.dir);
  if (!sizes) {
    sizes = workerFamily(folder.family).sizes(folder);
    sizesByFolder.set(folder.dir, sizes);
    sizes.catch(() => sizesByFolder.delete(folder.dir));
  }
  const known = await sizes;
  const adapters: Adapters = { loraBytes: await loraBytes(speedLoraFiles), styleSlotBytes: workerFamily(folder.family).styleSlotBytes(known, styleCount) };
  const result = planFor(known, width, height, 1, device.budget, adapters);
  return { report: { ...result, device: device.summary, width, height, ...(forced ? { forced: describePlan(forced) } : {}) }, sizes: known, adapters };
}

/** The report for a model known only by its sizes (a catalog entry): no folder, the default style slots. */
export function reportForSizes(sizes: ComponentSizes, width: number, height: number, device: Device, loraBytes = 0): PlanReport {
  const result = planFor(sizes, width, height, 1, device.budget, { loraBytes, styleSlotBytes: 0 });
  return { ...result, device: device.summary, width, height };
}
