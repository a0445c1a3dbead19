// Each runtime folder imports only what its runtime has: the rule that keeps Electron at the edge.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const appDir = new URL('.', import.meta.url).pathname;

function sources(folder: string): string[] {
  return readdirSync(join(appDir, folder), { recursive: true })
    .map(String)
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
    .map((f) => join(appDir, folder, f));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

function offenders(folder: string, forbidden: (spec: string) => boolean): string[] {
  return sources(folder).flatMap((f) => imports(f).filter(forbidden).map((spec) => `${relative(appDir, f)} imports ${spec}`));
}

describe('process boundaries', () => {
  it('app/shared is plain TypeScript: no Node, no DOM libraries, no other app folder', () => {
    expect(offenders('shared', (s) => s.startsWith('node:') || /^\.\.\/(main|worker|renderer)/.test(s) || /^(electron|onnxruntime|better-sqlite3|sharp|react)/.test(s))).toEqual([]);
  });

  it('app/renderer never imports Node, Electron or main/worker code', () => {
    expect(offenders('renderer', (s) => s.startsWith('node:') || /^(electron|onnxruntime|better-sqlite3|sharp|ws)$/.test(s) || /\/(main|worker)\//.test(s))).toEqual([]);
  });

  it('only app/worker imports onnxruntime-node, and main never imports worker code', () => {
    expect(offenders('main', (s) => s.startsWith('onnxruntime') || s.includes('/worker/'))).toEqual([]);
    expect(offenders('renderer', (s) => s.startsWith('onnxruntime'))).toEqual([]);
    expect(offenders('worker', (s) => /^(electron|better-sqlite3|sharp)$/.test(s))).toEqual([]);
  });

  it('only the electron/ folder of main imports Electron', () => {
    const outside = sources('main').filter((f) => !f.includes('/electron/'));
    expect(outside.flatMap((f) => imports(f).filter((s) => s === 'electron').map(() => relative(appDir, f)))).toEqual([]);
  });
});
