// Recognises a model folder (a diffusers-layout folder or a Hugging Face cache entry) by its
// model_index.json: its family (from the registry), its component folders, and the files whose bytes
// determine an image.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { familyOfPipelineClass, knownPipelineClasses, type FamilyId } from '../shared/model-families.js';
import { StudioError } from '../shared/result.js';
import { notice } from '../shared/notices.js';

export interface ModelFileInfo {
  /** Relative to the model folder. */
  readonly path: string;
  readonly bytes: number;
  /** Known without reading the file: Hugging Face cache blobs are named by their sha256. */
  readonly sha256?: string;
}

/**
 * A model folder of some family. `components` holds each component folder by the camelCase of its
 * model_index.json name (text_encoder_2 -> textEncoder2); a family's code narrows it to the ones it reads.
 */
export interface ModelFolder<C extends string = string> {
  readonly family: FamilyId;
  /** The folder holding model_index.json (for the HF cache: a snapshots/<revision> folder). */
  readonly dir: string;
  /** The folder weights may be read under: dir, or the HF cache's models--org--name folder. */
  readonly root: string;
  readonly name: string;
  readonly isDemo: boolean;
  readonly components: Readonly<Record<C, string>>;
  /** model_index.json as read (pipeline options such as force_zeros_for_empty_prompt). */
  readonly index: Readonly<Record<string, unknown>>;
  /** Files whose bytes determine the output, hashed into every recipe. */
  readonly files: readonly ModelFileInfo[];
}

/** text_encoder_2 -> textEncoder2 */
export function componentKey(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Narrows a folder to the components a family's code reads, checking each is there. */
export function withComponents<C extends string>(folder: ModelFolder, keys: readonly C[]): ModelFolder<C> {
  const have = folder.components as Readonly<Record<string, string | undefined>>;
  const missing = keys.filter((k) => typeof have[k] !== 'string');
  if (missing.length > 0) throw new StudioError('model-not-found', notice('error.modelComponentMissing', { dir: folder.dir, component: missing.join(', ') }), folder.dir);
  return folder;
}

/** A Hugging Face cache repo folder (models--org--name) resolves to the snapshot its refs/main names. */
async function resolveHubCache(dir: string): Promise<string> {
  if (!basename(dir).startsWith('models--')) return dir;
  const ref = await readFile(join(dir, 'refs', 'main'), 'utf8').catch(() => undefined);
  if (ref) return join(dir, 'snapshots', ref.trim());
  const snapshots = await readdir(join(dir, 'snapshots')).catch(() => []);
  if (snapshots.length === 1) return join(dir, 'snapshots', snapshots[0]!);
  return dir;
}

function hubRoot(dir: string): string {
  const parent = dirname(dir);
  return basename(parent) === 'snapshots' && basename(dirname(parent)).startsWith('models--') ? dirname(parent) : dir;
}

async function listFiles(dir: string, sub: string): Promise<ModelFileInfo[]> {
  const entries = await readdir(join(dir, sub)).catch(() => [] as string[]);
  const out: ModelFileInfo[] = [];
  for (const name of entries.sort()) {
    if (!/\.(safetensors|json|txt)$/.test(name)) continue;
    const path = join(dir, sub, name);
    const real = await realpath(path);
    const info = await stat(real);
    if (!info.isFile()) continue;
    const blob = basename(real);
    out.push({ path: `${sub}/${name}`, bytes: info.size, ...(real.includes(`${sep}blobs${sep}`) && /^[0-9a-f]{64}$/.test(blob) ? { sha256: blob } : {}) });
  }
  return out;
}

export async function openModelFolder(dirInput: string): Promise<ModelFolder> {
  const dir = await resolveHubCache(resolve(dirInput));
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new StudioError('model-not-found', notice('error.modelFolderMissing', { dir }), dir);
  const indexPath = join(dir, 'model_index.json');
  const text = await readFile(indexPath, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new StudioError(
      'model-not-found',
      notice('error.modelIndexMissing', { dir }),
      dir,
    );
  }
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new StudioError('model-unsupported', notice('error.jsonInvalid', { file: indexPath, problem: (e as Error).message }), indexPath);
  }
  const family = familyOfPipelineClass(index._class_name);
  if (!family) {
    const className = typeof index._class_name === 'string' ? index._class_name : 'no _class_name';
    throw new StudioError('model-unsupported', notice('error.unknownFamily', { file: indexPath, className, known: knownPipelineClasses().join(', ') }), indexPath);
  }
  for (const sub of family.components) {
    if (!(await stat(join(dir, sub)).catch(() => undefined))?.isDirectory()) {
      throw new StudioError('model-not-found', notice('error.modelComponentMissing', { dir, component: sub }), join(dir, sub));
    }
  }
  const demo = index._studio_demo as { name?: string } | undefined;
  const files = (await Promise.all(family.components.map((c) => listFiles(dir, c)))).flat();
  const root = hubRoot(dir);
  return {
    family: family.id,
    dir,
    root,
    name: demo?.name ?? (root !== dir ? basename(root).replace(/^models--/, '').replace('--', '/') : basename(dir)),
    isDemo: demo !== undefined,
    components: Object.fromEntries(family.components.map((c) => [componentKey(c), join(dir, c)])),
    index,
    files: files.filter((f) => relative(dir, join(dir, f.path)) === f.path),
  };
}
