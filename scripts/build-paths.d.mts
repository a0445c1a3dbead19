// Types of build-paths.mjs, for the test that runs it with Windows path semantics.
import type { PlatformPath } from 'node:path';

export interface BuildPaths {
  readonly dist: string;
  readonly tsc: { readonly command: 'node'; readonly args: readonly string[] };
  readonly preload: { readonly entry: string; readonly outfile: string };
  readonly viteConfig: string;
  readonly demoModule: string;
  readonly demoDir: string;
}

export function buildPaths(o: { root: string; path: PlatformPath; packageDir: (name: string) => string; fileUrl: (path: string) => string }): BuildPaths;
