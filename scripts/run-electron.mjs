// `npm run electron`: the desktop app from this checkout, on the staged app whose native modules are built
// for Electron (the project's node_modules stays built for Node, for the CLI and the tests).
import { spawn } from 'node:child_process';
import { electronBinary, preparedApp } from './electron-app.mjs';

const { binary, reason } = electronBinary();
if (!binary) {
  console.error(`electron: ${reason}`);
  process.exit(1);
}
try {
  const app = await preparedApp();
  const child = spawn(binary, [app, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} catch (e) {
  console.error(`electron: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
