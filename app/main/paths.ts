// Where the studio keeps its data, and the one check that keeps file access inside those folders.

import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The per-user data folder: STUDIO_DATA_DIR, else the platform's usual place. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.STUDIO_DATA_DIR) return resolve(env.STUDIO_DATA_DIR);
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Studio');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Studio');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'studio');
}

export interface DataLayout {
  readonly root: string;
  readonly database: string;
  readonly images: string;
  readonly thumbs: string;
}

export function dataLayout(root: string): DataLayout {
  return { root, database: join(root, 'studio.db'), images: join(root, 'images'), thumbs: join(root, 'thumbs') };
}

/**
 * Resolves `relativePath` under `root` and refuses anything that escapes it: `..`, absolute paths, and
 * symlinks pointing outside. Returns undefined when refused or missing.
 */
export function confinedPath(root: string, relativePath: string): string | undefined {
  if (relativePath.includes('\0') || isAbsolute(relativePath)) return undefined;
  const full = resolve(root, relativePath);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  if (!existsSync(full)) return undefined;
  const realRoot = realpathSync(root);
  const real = realpathSync(full);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return undefined;
  return real;
}

/** The folder holding package.json: the repository in development, the app folder when packaged. */
export function appRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'studio') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the studio package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function appVersion(root = appRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

export function builtInDemoModelDir(root = appRoot()): string {
  return join(root, 'models', 'demo');
}

export function workerEntry(root = appRoot()): string {
  return join(root, 'dist', 'app', 'worker', 'worker-main.js');
}
