// The worker's family registry: the code that runs each family of the shared registry
// (app/shared/model-families.ts). A family without an entry here does not compile.

import { FAMILIES, type FamilyId } from '../shared/model-families.js';
import type { WorkerFamily } from './family-runner.js';
import { qwenImageFamily } from './qwen-image/qwen-family.js';
import { sdFamily } from './sd/sd-family.js';

export const WORKER_FAMILIES: Readonly<Record<FamilyId, WorkerFamily>> = {
  'qwen-image': qwenImageFamily,
  'sdxl-turbo': sdFamily(FAMILIES['sdxl-turbo']),
  'sd-turbo': sdFamily(FAMILIES['sd-turbo']),
};

export function workerFamily(id: FamilyId): WorkerFamily {
  return WORKER_FAMILIES[id];
}
