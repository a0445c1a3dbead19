// The plan report for a model at a size on this device: the planner's table, its choice, and any plan the
// user forced. Model sizes come from the safetensors headers and are kept per folder.

import type { ModelFolder } from './model-folder.js';
import { modelSizes } from './qwen-image/model-sizes.js';
import { describePlan, planFor, type ComponentSizes, type ExecutionChoice, type PlanReport } from '../shared/vram-plan.js';
import type { Device } from './device.js';

const sizesByFolder = new Map<string, Promise<ComponentSizes>>();

export async function planReport(folder: ModelFolder, width: number, height: number, device: Device, forced?: ExecutionChoice): Promise<PlanReport & { sizes: ComponentSizes }> {
  let sizes = sizesByFolder.get(folder.dir);
  if (!sizes) {
    sizes = modelSizes(folder);
    sizesByFolder.set(folder.dir, sizes);
    sizes.catch(() => sizesByFolder.delete(folder.dir));
  }
  const known = await sizes;
  const result = planFor(known, width, height, 1, device.budget);
  return { ...result, sizes: known, device: device.summary, width, height, ...(forced ? { forced: describePlan(forced) } : {}) };
}
