// The plan report for a model at a size on this device: the planner's table, its choice, and any plan the
// user forced. Model sizes come from the family's reading of the safetensors headers, the memory terms from
// the graphs the family builds for the device's precision at this size (estimated from the sizes for a family
// without graph analysis), both kept per folder; the speed LoRA's side branch and the style slots (only as
// many as styles are chosen) are counted with the denoiser.

import { workerFamily } from './families.js';
import type { ModelFolder } from './model-folder.js';
import { readSafetensorsHeader, DTYPE_BYTES } from './safetensors/safetensors.js';
import { describePlan, estimatedMemory, planFor, type Adapters, type ComponentSizes, type ExecutionChoice, type GraphMemory, type PlanReport, PLANNED_TEXT_TOKENS } from '../shared/vram-plan.js';
import { bytesPer } from '../shared/precision.js';
import type { Device } from './device.js';

const sizesByFolder = new Map<string, Promise<ComponentSizes>>();
const memoryByKey = new Map<string, Promise<GraphMemory>>();

/** LoRA weights as the graph holds them: in the compute precision. */
async function loraBytes(files: readonly string[], bytesPerValue: number): Promise<number> {
  let total = 0;
  for (const file of files) {
    const header = await readSafetensorsHeader(file);
    for (const t of header.tensors.values()) total += (t.byteLength / DTYPE_BYTES[t.dtype]) * bytesPerValue;
  }
  return total;
}

function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return p;
}

export function folderSizes(folder: ModelFolder): Promise<ComponentSizes> {
  return cached(sizesByFolder, folder.dir, () => workerFamily(folder.family).sizes(folder));
}

/** The memory terms of the folder's graphs at a size, precision and provider (built and analysed once). */
export async function memoryTerms(folder: ModelFolder, width: number, height: number, device: Device, textTokens = PLANNED_TEXT_TOKENS): Promise<GraphMemory> {
  const precision = device.summary.precision ?? 'f32';
  const provider = device.summary.provider;
  const key = `${folder.dir}|${width}x${height}|${precision}|${provider}|${textTokens}`;
  const family = workerFamily(folder.family);
  return cached(memoryByKey, key, async () =>
    family.memory ? family.memory(folder, width, height, precision, provider, textTokens) : estimatedMemory(await folderSizes(folder), width, height, precision, textTokens),
  );
}

export async function planReport(
  folder: ModelFolder,
  width: number,
  height: number,
  device: Device,
  forced?: ExecutionChoice,
  speedLoraFiles: readonly string[] = [],
  styleCount = 0,
): Promise<{ report: PlanReport; sizes: ComponentSizes; memory: GraphMemory; adapters: Adapters }> {
  const known = await folderSizes(folder);
  const memory = await memoryTerms(folder, width, height, device);
  // Slot matrices and LoRA side branches travel in the compute precision (float16 inputs for half graphs).
  const valueBytes = bytesPer(memory.precision);
  const adapters: Adapters = { loraBytes: await loraBytes(speedLoraFiles, valueBytes), styleSlotBytes: workerFamily(folder.family).styleSlotBytes(known, styleCount, valueBytes) };
  const result = planFor(known, memory, width, height, 1, device.budget, adapters);
  return { report: { ...result, device: device.summary, width, height, ...(forced ? { forced: describePlan(forced) } : {}) }, sizes: known, memory, adapters };
}

/** The report for a model known only by its sizes (a catalog entry): no folder, the default style slots. */
export function reportForSizes(sizes: ComponentSizes, width: number, height: number, device: Device, loraBytes = 0): PlanReport {
  const memory = estimatedMemory(sizes, width, height, device.summary.precision ?? 'f32');
  const result = planFor(sizes, memory, width, height, 1, device.budget, { loraBytes, styleSlotBytes: 0 });
  return { ...result, device: device.summary, width, height };
}
