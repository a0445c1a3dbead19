// Where the Linux dynamic loader would find a library, asked without loading anything: the library's
// RUNPATH ($ORIGIN expanded), LD_LIBRARY_PATH, the ldconfig cache, the default folders, and the folders
// CUDA libraries usually live in (the CUDA toolkit, pip's nvidia-* wheels, conda). Used to say precisely
// which CUDA or cuDNN library the CUDA provider would miss, and to link the ones found outside the
// loader's path next to the provider.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { readElfDeps } from './elf-deps.js';

/** Libraries every Linux system has: not reported, not linked. */
const SYSTEM = /^(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|ld-linux-x86-64|libutil|libresolv)\.so/;

const DEFAULT_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/** The loader's own search path: LD_LIBRARY_PATH, the ldconfig cache, the default folders. */
export interface LoaderPath {
  readonly ldLibraryPath: readonly string[];
  /** soname -> file, from `ldconfig -p`. */
  readonly cache: ReadonlyMap<string, string>;
  readonly defaults: readonly string[];
}

export async function loaderPath(env: NodeJS.ProcessEnv = process.env): Promise<LoaderPath> {
  const cache = new Map<string, string>();
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const { stdout } = await promisify(execFile)(ldconfig, ['-p'], { timeout: 5000, maxBuffer: 8 * 1024 * 1024 });
      for (const line of stdout.split('\n')) {
        const m = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
        if (m && m[2]!.includes('x86-64') && !cache.has(m[1]!)) cache.set(m[1]!, m[3]!);
      }
      break;
    } catch {
      // not here: try the next place ldconfig lives
    }
  }
  return { ldLibraryPath: (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), cache, defaults: DEFAULT_DIRS };
}

/** Folders CUDA and cuDNN libraries are commonly installed in, outside the loader's path. */
export function cudaCandidateDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  const add = (d: string) => existsSync(d) && !dirs.includes(d) && dirs.push(d);
  for (const root of ['/usr/local/cuda', ...safeList('/usr/local').filter((n) => n.startsWith('cuda-')).map((n) => join('/usr/local', n))]) {
    add(join(root, 'lib64'));
    add(join(root, 'targets', 'x86_64-linux', 'lib'));
  }
  if (env.CUDA_PATH) add(join(env.CUDA_PATH, 'lib64'));
  if (env.CONDA_PREFIX) add(join(env.CONDA_PREFIX, 'lib'));
  // pip install nvidia-cublas-cu12 nvidia-cudnn-cu12 ... puts each library under site-packages/nvidia/*/lib.
  const sites: string[] = [];
  for (const base of [join(homedir(), '.local', 'lib'), '/usr/local/lib', '/usr/lib', ...(env.VIRTUAL_ENV ? [join(env.VIRTUAL_ENV, 'lib')] : [])]) {
    for (const py of safeList(base).filter((n) => /^python3(\.\d+)?$/.test(n))) {
      for (const s of ['site-packages', 'dist-packages']) sites.push(join(base, py, s));
    }
  }
  for (const site of sites) for (const pkg of safeList(join(site, 'nvidia'))) add(join(site, 'nvidia', pkg, 'lib'));
  return dirs;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export interface Resolution {
  /** soname -> the file it resolves to, for every library in the dependency tree that was found. */
  readonly found: ReadonlyMap<string, { file: string; viaLoader: boolean }>;
  /** Sonames nothing provides, with the library that needs each. */
  readonly missing: readonly { readonly soname: string; readonly neededBy: string }[];
}

/**
 * Resolves the dependency tree of `file` as the loader would, plus `extraDirs` (folders the studio links
 * from). `viaLoader` says whether the loader itself finds a library (no link needed).
 */
export async function resolveDependencies(file: string, loader: LoaderPath, extraDirs: readonly string[] = []): Promise<Resolution> {
  const found = new Map<string, { file: string; viaLoader: boolean }>();
  const missing: { soname: string; neededBy: string }[] = [];
  const queue: { file: string; neededBy: string }[] = [{ file, neededBy: '' }];
  const visited = new Set<string>();
  while (queue.length > 0) {
    const item = queue.shift()!;
    if (visited.has(item.file)) continue;
    visited.add(item.file);
    let deps;
    try {
      deps = await readElfDeps(item.file);
    } catch {
      continue; // unreadable: its own dependencies cannot be followed
    }
    const origin = dirname(item.file);
    const runpath = deps.runpath.map((r) => r.replaceAll('$ORIGIN', origin).replaceAll('${ORIGIN}', origin));
    for (const soname of deps.needed) {
      if (SYSTEM.test(soname) || found.has(soname)) continue;
      const inDirs = (dirs: readonly string[]) => dirs.map((d) => join(d, soname)).find((f) => existsSync(f));
      const byLoader = inDirs(runpath) ?? inDirs(loader.ldLibraryPath) ?? loader.cache.get(soname) ?? inDirs(loader.defaults);
      const byExtra = byLoader ? undefined : inDirs(extraDirs);
      const hit = byLoader ?? byExtra;
      if (!hit) {
        missing.push({ soname, neededBy: item.file });
        continue;
      }
      found.set(soname, { file: hit, viaLoader: byLoader !== undefined });
      queue.push({ file: hit, neededBy: item.file });
    }
  }
  return { found, missing };
}
