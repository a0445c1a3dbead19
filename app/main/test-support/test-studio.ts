// Test helper: a Studio on a fresh temporary data folder with the real worker process and demo model.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appVersion, builtInDemoModelDir, workerEntry } from '../paths.js';
import { Studio, type StudioOptions } from '../studio.js';
import { nodeWorkerSpawner } from '../worker-host/worker-handle.js';

export function testStudio(options: Partial<StudioOptions> = {}): Studio {
  return new Studio({
    dataDir: mkdtempSync(join(tmpdir(), 'studio-test-')),
    appVersion: appVersion(),
    demoModelDir: builtInDemoModelDir(),
    // Two threads: the same on every machine, so pixels compare across runs.
    spawnWorker: nodeWorkerSpawner(workerEntry(), { ...process.env, STUDIO_THREADS: '2' }),
    ...options,
  });
}
