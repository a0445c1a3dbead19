// `npm run dist [-- electron-builder options]`, e.g. `npm run dist -- --linux dir`: builds, stages the app
// for the target platform and architecture in build/app (with native modules rebuilt for Electron there),
// then runs electron-builder on it through its JS entry (no shell, Windows included).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, rebuildForElectron, stage } from './stage-app.mjs';

const args = process.argv.slice(2);
const platformFlags = { '--linux': 'linux', '-l': 'linux', '--win': 'win32', '--windows': 'win32', '-w': 'win32', '--mac': 'darwin', '--macos': 'darwin', '-m': 'darwin' };
const platforms = [...new Set(args.filter((a) => a in platformFlags).map((a) => platformFlags[a]))];
if (platforms.length > 1) {
  console.error('dist: one platform at a time (each package is staged with its own native modules)');
  process.exit(2);
}
const platform = platforms[0] ?? process.platform;
const arch = ['x64', 'arm64', 'ia32', 'armv7l'].find((a) => args.includes(`--${a}`)) ?? process.arch;

const run = (label, file, argv) => {
  const r = spawnSync(process.execPath, [file, ...argv], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`dist: ${label} failed`);
    process.exit(r.status ?? 1);
  }
};
run('build', path.join(ROOT, 'scripts', 'build.mjs'), []);
try {
  const staged = stage({ platform, arch });
  console.log(`dist: staged ${staged.modules.length} packages for ${platform}-${arch} in build/app`);
  const version = await rebuildForElectron(path.join(ROOT, 'build', 'app'), arch);
  console.log(`dist: native modules rebuilt for Electron ${version} in build/app`);
} catch (e) {
  console.error(`dist: staging failed: ${e instanceof Error ? e.message : String(e)}`);
  console.error("dist: rebuilding native modules for Electron needs Electron's headers (or prebuilt binaries) from the network; the project's node_modules was not touched.");
  process.exit(1);
}
const builder = path.join(path.dirname(createRequire(import.meta.url).resolve('electron-builder/package.json')), 'cli.js');
run('electron-builder', builder, ['--config', 'electron-builder.yml', ...args]);
