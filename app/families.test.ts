// The family registry is the only place a model family is named: main, the contract (app/shared) and the
// UI are generic over families. Code outside the registry's data files that names a family, its pipeline
// class, a component only some families have, or a sampler fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DISCRETE_SAMPLER_NAMES } from './shared/discrete-samplers.js';
import { FAMILIES } from './shared/model-families.js';

const appDir = new URL('.', import.meta.url).pathname;

/** The registry's data: the families, and the samplers they bring. */
const REGISTRY = ['shared/model-families.ts', 'shared/flow-match.ts', 'shared/discrete-samplers.ts', 'shared/samplers.ts'];

function sources(folder: string): string[] {
  return readdirSync(join(appDir, folder), { recursive: true })
    .map(String)
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f) && !f.includes('test-support'))
    .map((f) => join(appDir, folder, f))
    .filter((f) => !REGISTRY.includes(relative(appDir, f)));
}

/** Code without comments and without import/export specifiers (a module's path is not a mention). */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:\\])\/\/.*$/gm, '$1')
    .replace(/^\s*(import|export)\s[^;]*?from\s+['"][^'"]+['"];/gm, '');
}

const families = Object.values(FAMILIES);
const everywhere = families.map((f) => new Set(f.components)).reduce((a, b) => new Set([...a].filter((c) => b.has(c))));
const quoted = (names: readonly string[]) => new RegExp(`['"\`/](${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})['"\`/]`);
const FORBIDDEN: readonly [string, RegExp][] = [
  ['a family id', quoted(families.map((f) => f.id))],
  ['a family name', new RegExp(families.map((f) => f.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'))],
  ['a pipeline class', new RegExp(`\\b(${families.flatMap((f) => f.pipelineClasses).join('|')})\\b`)],
  ['a component only some families have', quoted(families.flatMap((f) => f.components).filter((c) => !everywhere.has(c)))],
  ['a sampler', quoted(['flow-match-euler', ...DISCRETE_SAMPLER_NAMES])],
  ['a scheduler class', /\b(FlowMatchEuler|EulerAncestral|Euler|LCM)(Discrete)?Scheduler\b/],
  ['a speed preset', new RegExp(`\\b(${families.flatMap((f) => f.speedPresets.map((p) => p.label.split(' ')[0]!)).join('|')})\\b`)],
];

function mentions(folder: string): string[] {
  return sources(folder).flatMap((file) =>
    code(file)
      .split('\n')
      .flatMap((line, i) => FORBIDDEN.filter(([, re]) => re.test(line)).map(([what]) => `${relative(appDir, file)}:${i + 1} names ${what}: ${line.trim().slice(0, 120)}`)),
  );
}

describe('the family registry is the only place a family is named', () => {
  it.each(['main', 'shared', 'renderer'])('app/%s is generic over families', (folder) => {
    expect(mentions(folder)).toEqual([]);
  });

  it('would notice a family named outside the registry', () => {
    const line = `const className = '${families[0]!.pipelineClasses[0]!}';`;
    expect(FORBIDDEN.some(([, re]) => re.test(line))).toBe(true);
    expect(FORBIDDEN.some(([, re]) => re.test(`const folder = '${[...new Set(families.flatMap((f) => f.components))].find((c) => !everywhere.has(c))!}';`))).toBe(true);
  });
});
