// Shared by `npm run electron` and `npm run test:electron`: finds the Electron binary, and makes sure the
// staged app (build/app, natives rebuilt for Electron) is there and current before running it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, rebuildForElectron, stage, stagedFresh } from './stage-app.mjs';

/** The Electron executable, or undefined with the reason (ELECTRON_SKIP_BINARY_DOWNLOAD installs none). */
export function electronBinary() {
  try {
    const binary = createRequire(import.meta.url)('electron');
    if (typeof binary === 'string' && existsSync(binary)) return { binary };
    return { reason: `the Electron binary is not at ${String(binary)}` };
  } catch (e) {
    return { reason: `the Electron binary is not installed (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); install it with \`node node_modules/electron/install.js\` (npm ci does unless ELECTRON_SKIP_BINARY_DOWNLOAD is set)` };
  }
}

/** Builds if needed, stages and rebuilds if stale; returns the staged app folder. */
export async function preparedApp() {
  const out = path.join(ROOT, 'build', 'app');
  if (!existsSync(path.join(ROOT, 'dist', 'app', 'main', 'electron', 'electron-main.js'))) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('the build failed');
  }
  if (!stagedFresh(ROOT, out)) {
    stage({ out });
    await rebuildForElectron(out, process.arch);
  }
  return out;
}
