// `npm run test:electron`: starts the real desktop app (Electron binary, staged app, fresh data folder),
// lets it check its window, preload, both protocols, one image from the utilityProcess worker and the
// quit path (app/main/electron/electron-smoke.ts), and reports. Runs wherever an Electron binary is
// installed; on Linux without a display, under xvfb-run if there is one.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { electronBinary, preparedApp } from './electron-app.mjs';

const TIMEOUT_MS = 120_000;
const { binary, reason } = electronBinary();
if (!binary) {
  console.error(`test:electron: cannot run here: ${reason}`);
  process.exit(1);
}
const app = await preparedApp();
const dataDir = mkdtempSync(path.join(tmpdir(), 'studio-electron-smoke-'));
const env = { ...process.env, STUDIO_ELECTRON_SMOKE: '1', STUDIO_DATA_DIR: dataDir, HF_HUB_CACHE: path.join(dataDir, 'no-hf-cache'), STUDIO_THREADS: '2' };
const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const xvfb = headless && spawnSync('xvfb-run', ['--help'], { stdio: 'ignore' }).status === 0;
const [command, args] = xvfb ? ['xvfb-run', ['-a', binary, app]] : [binary, [app]];
if (headless && !xvfb) console.error('test:electron: no display and no xvfb-run; Electron may refuse to start');
const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => (out += d.toString()));
const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
clearTimeout(timer);
const line = out.split('\n').find((l) => l.startsWith('STUDIO_SMOKE '));
if (!line) {
  console.error(`test:electron: the app exited (${code}) without a report; its output:\n${out}`);
  process.exit(1);
}
const { checks } = JSON.parse(line.slice('STUDIO_SMOKE '.length));
for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? `  (${c.detail})` : ''}`);
const failed = checks.filter((c) => !c.ok).length;
console.log(failed === 0 && code === 0 ? `test:electron: all ${checks.length} checks passed` : `test:electron: ${failed} of ${checks.length} checks failed, exit code ${code}`);
process.exit(failed === 0 && code === 0 ? 0 : 1);
