// Electron main: hands the real Electron module to the desktop wiring (desktop.ts), which is the same
// code the tests run with the Electron binary stood in for.

import * as electron from 'electron';
import { runDesktop } from './desktop.js';
import { utilityWorkerSpawner } from './utility-worker.js';

runDesktop(electron, { spawnWorker: utilityWorkerSpawner, resourcesPath: process.resourcesPath }).then(
  (run) => {
    // STUDIO_ELECTRON_SMOKE: the smoke test (scripts/electron-smoke.mjs) drives the app through its checks.
    if (run && process.env.STUDIO_ELECTRON_SMOKE) void import('./electron-smoke.js').then((m) => m.runSmoke(electron, run));
  },
  (e: unknown) => {
    console.error(e);
    electron.dialog.showErrorBox('Studio', e instanceof Error ? e.message : String(e));
    electron.app.exit(1);
  },
);
