// The Electron smoke test's checks, run inside the real app when STUDIO_ELECTRON_SMOKE is set (by
// scripts/electron-smoke.mjs, `npm run test:electron`): the window and its preload, both custom
// protocols, one image made by the utilityProcess worker and shown through studio-file:, then the quit
// path. Prints one `STUDIO_SMOKE {json}` line; the script reads it and the exit code.

import type * as Electron from 'electron';
import { writeSync } from 'node:fs';
import type { DesktopRun } from './desktop.js';

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** Runs in the page: what the preload exposes, an image made through it, its file fetched by URL. */
const PAGE_SCRIPT = `(async () => {
  const out = { api: typeof window.studio?.invoke === 'function' && typeof window.studio?.on === 'function' };
  const info = await window.studio.invoke('app.info', {});
  out.info = info.ok ? info.value.host : JSON.stringify(info.error);
  const index = await fetch('studio-app://app/index.html');
  out.appProtocol = index.status;
  const succeeded = new Promise((resolve) => {
    const off = window.studio.on('job', (e) => {
      if (e.type === 'succeeded' || e.type === 'failed') { off(); resolve(e); }
    });
  });
  const started = await window.studio.invoke('generate.start', { prompt: 'a lighthouse at dusk', seed: 7, steps: 1, width: 256, height: 256, format: 'png' });
  if (!started.ok) return { ...out, generate: JSON.stringify(started.error) };
  const end = await succeeded;
  out.generate = end.type;
  if (end.type === 'succeeded') {
    const thumb = await fetch(end.generation.thumbUrl);
    out.fileProtocol = thumb.status;
    out.thumbBytes = (await thumb.arrayBuffer()).byteLength;
  }
  return out;
})()`;

export async function runSmoke(electron: typeof Electron, run: DesktopRun): Promise<void> {
  const checks: Check[] = [];
  try {
    const win = electron.BrowserWindow.getAllWindows()[0];
    checks.push({ name: 'window', ok: win !== undefined && !win.isDestroyed() });
    const page = (await win!.webContents.executeJavaScript(PAGE_SCRIPT)) as Record<string, unknown>;
    checks.push({ name: 'preload', ok: page.api === true, detail: String(page.api) });
    checks.push({ name: 'invoke', ok: page.info === 'electron', detail: String(page.info) });
    checks.push({ name: 'studio-app protocol', ok: page.appProtocol === 200, detail: String(page.appProtocol) });
    checks.push({ name: 'utilityProcess worker', ok: page.generate === 'succeeded' && run.studio.supervisor.pid !== undefined, detail: String(page.generate) });
    checks.push({ name: 'studio-file protocol', ok: page.fileProtocol === 200 && Number(page.thumbBytes) > 0, detail: `${String(page.fileProtocol)} ${String(page.thumbBytes)} bytes` });
  } catch (e) {
    checks.push({ name: 'page', ok: false, detail: e instanceof Error ? e.message : String(e) });
  }
  // The menu's Quit is app.quit(): the same path, which must close the studio before the process ends.
  const workerPid = run.studio.supervisor.pid;
  electron.app.quit();
  await run.closed;
  checks.push({ name: 'quit closes the studio', ok: run.studio.supervisor.pid === undefined, detail: `worker ${String(workerPid)} stopped` });
  // Synchronously: the process ends right after, and a piped stdout is written asynchronously.
  writeSync(1, `STUDIO_SMOKE ${JSON.stringify({ checks })}\n`);
}
