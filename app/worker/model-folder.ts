// Recognises a model folder (a diffusers-layout folder or a Hugging Face cache entry) by its
// model_index.json, and says clearly what it is and whether the studio can run it.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { StudioError } from '../shared/result.js';
import { notice, type NoticeKey } from '../shared/notices.js';

export interface ModelFileInfo {
  /** Relative to the model folder. */
  readonly path: string;
  readonly bytes: number;
  /** Known without reading the file: Hugging Face cache blobs are named by their sha256. */
  readonly sha256?: string;
}

export interface ModelFolder {
  readonly family: 'qwen-image';
  /** The folder holding model_index.json (for the HF cache: a snapshots/<revision> folder). */
  readonly dir: string;
  /** The folder weights may be read under: dir, or the HF cache's models--org--name folder. */
  readonly root: string;
  readonly name: string;
  readonly isDemo: boolean;
  readonly components: { readonly textEncoder: string; readonly transformer: string; readonly vae: string; readonly tokenizer: string; readonly scheduler: string };
  /** Files whose bytes determine the output, hashed into every recipe. */
  readonly files: readonly ModelFileInfo[];
}

const NOT_YET: Record<string, NoticeKey> = {
  StableDiffusionXLPipeline: 'error.modelNotYet',
  StableDiffusionPipeline: 'error.modelNotYet',
  QwenImageEditPipeline: 'error.modelEditUnsupported',
};

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
  const className = index._class_name;
  if (className !== 'QwenImagePipeline') {
    const known = typeof className === 'string' ? NOT_YET[className] : undefined;
    throw new StudioError(
      'model-unsupported',
      notice(known ?? 'error.modelUnknownType', { dir, className: typeof className === 'string' ? className : '?' }),
      dir,
    );
  }
  for (const sub of ['transformer', 'text_encoder', 'vae', 'tokenizer', 'scheduler']) {
    if (!(await stat(join(dir, sub)).catch(() => undefined))?.isDirectory()) {
      throw new StudioError('model-not-found', notice('error.modelComponentMissing', { dir, component: sub }), join(dir, sub));
    }
  }
  const demo = index._studio_demo as { name?: string } | undefined;
  const files = (await Promise.all(['transformer', 'text_encoder', 'vae', 'scheduler', 'tokenizer'].map((s) => listFiles(dir, s)))).flat();
  const root = hubRoot(dir);
  return {
    family: 'qwen-image',
    dir,
    root,
    name: demo?.name ?? (root !== dir ? basename(root).replace(/^models--/, '').replace('--', '/') : basename(dir)),
    isDemo: demo !== undefined,
    components: {
      textEncoder: join(dir, 'text_encoder'),
      transformer: join(dir, 'transformer'),
      vae: join(dir, 'vae'),
      tokenizer: join(dir, 'tokenizer'),
      scheduler: join(dir, 'scheduler'),
    },
    files: files.filter((f) => relative(dir, join(dir, f.path)) === f.path),
  };
}
