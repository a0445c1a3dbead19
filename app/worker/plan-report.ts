// The plan report for a model at a size on this device: the planner's table, its choice, and any plan the
// user forced. Stored sizes come from the safetensors headers and the memory terms from the graphs built
// for the device's precision at this size, both kept per folder; the speed LoRA's side branch and the
// style slots (only as many as styles are chosen) are counted with the transformer.

import type { ModelFolder } from './model-folder.js';
import { modelSizes } from './qwen-image/model-sizes.js';
import { graphMemory, graphMemoryInput, PLANNED_TEXT_TOKENS, type GraphMemoryInput } from './qwen-image/graph-memory.js';
import { STYLE_SLOT_RANK } from './qwen-image/qwen-image-runner.js';
import { readSafetensorsHeader, DTYPE_BYTES } from './safetensors/safetensors.js';
import { describePlan, planFor, styleSlotBytes, type Adapters, type ComponentSizes, type ExecutionChoice, type GraphMemory, type PlanReport } from '../shared/vram-plan.js';
import { bytesPer } from '../shared/precision.js';
import type { Device } from './device.js';

const sizesByFolder = new Map<string, Promise<ComponentSizes>>();
const inputsByFolder = new Map<string, Promise<GraphMemoryInput>>();
const memoryByKey = new Map<string, GraphMemory>();

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

/** The memory terms of the folder's graphs at a size, precision and provider (built and analysed once). */
export async function memoryTerms(folder: ModelFolder, width: number, height: number, device: Device, textTokens = PLANNED_TEXT_TOKENS): Promise<GraphMemory> {
  const precision = device.summary.precision ?? 'f32';
  const key = `${folder.dir}|${width}x${height}|${precision}|${device.summary.provider}|${textTokens}`;
  const known = memoryByKey.get(key);
  if (known) return known;
  const input = await cached(inputsByFolder, folder.dir, () => graphMemoryInput(folder));
  const memory = graphMemory(input, width, height, precision, device.summary.provider, textTokens);
  memoryByKey.set(key, memory);
  return memory;
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
  const known = await cached(sizesByFolder, folder.dir, () => modelSizes(folder));
  const memory = await memoryTerms(folder, width, height, device);
  // Slot matrices and LoRA side branches travel in the compute precision (float16 inputs for half graphs).
  const valueBytes = bytesPer(memory.precision);
  const adapters: Adapters = { loraBytes: await loraBytes(speedLoraFiles, valueBytes), styleSlotBytes: styleSlotBytes(known, styleCount, STYLE_SLOT_RANK, valueBytes) };
  const result = planFor(known, memory, width, height, 1, device.budget, adapters);
  return { report: { ...result, device: device.summary, width, height, ...(forced ? { forced: describePlan(forced) } : {}) }, sizes: known, memory, adapters };
}
