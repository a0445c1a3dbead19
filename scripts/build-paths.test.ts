import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPaths } from './build-paths.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('the build on Windows', () => {
  // What scripts/build.mjs computes on a Windows machine, with Windows path rules.
  const winRoot = 'C:\\Users\\李雷\\My Projects\\studio';
  const win = buildPaths({
    root: winRoot,
    path: path.win32,
    packageDir: (name) => path.win32.join(winRoot, 'node_modules', name),
    fileUrl: (p) => pathToFileURL(p, { windows: true }).href,
  });

  it('starts tsc as node running its JS entry, never a node_modules\\.bin shim that needs a shell', () => {
    expect(win.tsc.command).toBe('node');
    expect(win.tsc.args[0]).toBe('C:\\Users\\李雷\\My Projects\\studio\\node_modules\\typescript\\bin\\tsc');
    expect(win.tsc.args.join(' ')).not.toMatch(/\.bin|\.cmd/);
    // That entry is what TypeScript itself declares as its tsc command, and it is JavaScript.
    const typescript = path.dirname(createRequire(import.meta.url).resolve('typescript/package.json'));
    expect((JSON.parse(readFileSync(path.join(typescript, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.tsc).toBe('./bin/tsc');
    expect(readFileSync(path.join(typescript, 'bin', 'tsc'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node/);
  });

  it('imports the built demo generator by a file:// URL, which import() accepts where a drive path is a URL scheme', () => {
    expect(win.demoModule).toBe('file:///C:/Users/%E6%9D%8E%E9%9B%B7/My%20Projects/studio/dist/app/worker/demo/tiny-qwen-image.js');
    expect(() => new URL(win.demoModule)).not.toThrow();
    // The bare path is what failed: a URL parser reads "C:" as the scheme.
    expect(new URL(path.win32.join(winRoot, 'dist', 'x.js')).protocol).toBe('c:');
  });

  it('joins every other path with Windows separators under the project', () => {
    for (const p of [win.dist, win.preload.entry, win.preload.outfile, win.viteConfig, win.demoDir]) {
      expect(p.startsWith(`${winRoot}\\`)).toBe(true);
      expect(p).not.toContain('/');
    }
    expect(win.preload.outfile).toBe(`${winRoot}\\dist\\app\\main\\electron\\preload.cjs`);
  });

  it('computes the same layout here as the build that produced dist/ (POSIX rules)', () => {
    const here = buildPaths({ root, path, packageDir: (name) => path.join(root, 'node_modules', name), fileUrl: (p) => pathToFileURL(p).href });
    expect(fileURLToPath(here.demoModule)).toBe(path.join(root, 'dist', 'app', 'worker', 'demo', 'tiny-qwen-image.js'));
    expect(readFileSync(fileURLToPath(here.demoModule), 'utf8')).toContain('writeTinyQwenImage');
    expect(readFileSync(here.preload.outfile, 'utf8').length).toBeGreaterThan(0);
  });
});
