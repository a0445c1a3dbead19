// Builds everything a run needs: Node code (tsc), the sandboxed preload (esbuild), the renderer (Vite),
// and the demo model's weights (generated from a fixed seed, so they are never committed).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function step(label, command, args) {
  const t0 = Date.now();
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${label} failed`);
    process.exit(r.status ?? 1);
  }
  console.log(`build: ${label} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
step('typescript', bin('tsc'), ['-b', 'tsconfig.json']);
step('preload', bin('esbuild'), [
  'app/main/electron/preload.ts',
  '--bundle',
  '--platform=node',
  '--format=cjs',
  '--external:electron',
  '--outfile=dist/app/main/electron/preload.cjs',
  '--log-level=warning',
]);
step('renderer', bin('vite'), ['build', '--config', 'vite.config.ts', '--logLevel', 'warn']);

// The demo model: a tiny Qwen-Image generated from a fixed seed (see app/worker/demo/tiny-qwen-image.ts).
const { DEMO_VERSION, writeTinyQwenImage } = await import(join(root, 'dist/app/worker/demo/tiny-qwen-image.js'));
const demoDir = join(root, 'models', 'demo');
const indexFile = join(demoDir, 'model_index.json');
const current = existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8'))._studio_demo?.version : undefined;
if (current !== DEMO_VERSION) {
  await writeTinyQwenImage(demoDir);
  console.log(`build: demo model written to ${demoDir}`);
}
