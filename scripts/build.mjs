// Builds everything a run needs: Node code (tsc), the sandboxed preload (esbuild), the renderer (Vite),
// and the demo model's weights (generated from a fixed seed, so they are never committed). Runs the same
// on Windows, macOS and Linux: no shell, no node_modules/.bin shims, modules imported by file:// URL
// (see build-paths.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildPaths } from './build-paths.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const paths = buildPaths({
  root,
  path,
  packageDir: (name) => path.dirname(require.resolve(`${name}/package.json`)),
  fileUrl: (p) => pathToFileURL(p).href,
});

async function step(label, run) {
  const t0 = Date.now();
  try {
    await run();
  } catch (e) {
    console.error(`build: ${label} failed${e instanceof Error && e.message ? `: ${e.message}` : ''}`);
    process.exit(1);
  }
  console.log(`build: ${label} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// vite.config.ts and tsconfig paths are relative to the project: build from there whatever the caller's folder.
process.chdir(root);
rmSync(paths.dist, { recursive: true, force: true });
await step('typescript', () => {
  const r = spawnSync(process.execPath, paths.tsc.args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(r.error?.message ?? `tsc exited with ${r.status ?? r.signal}`);
});
await step('preload', async () => {
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [paths.preload.entry], bundle: true, platform: 'node', format: 'cjs', external: ['electron'], outfile: paths.preload.outfile, logLevel: 'warning' });
});
await step('renderer', async () => {
  const vite = await import('vite');
  await vite.build({ configFile: paths.viteConfig, logLevel: 'warn' });
});

// The demo model: a tiny Qwen-Image generated from a fixed seed (see app/worker/demo/tiny-qwen-image.ts).
const { DEMO_VERSION, writeTinyQwenImage } = await import(paths.demoModule);
const indexFile = path.join(paths.demoDir, 'model_index.json');
const current = existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8'))._studio_demo?.version : undefined;
if (current !== DEMO_VERSION) {
  await writeTinyQwenImage(paths.demoDir);
  console.log(`build: demo model written to ${paths.demoDir}`);
}
