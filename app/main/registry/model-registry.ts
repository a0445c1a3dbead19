// The models the studio can run, by id: the built-in demo, folders named on the command line or added by
// the user (remembered in the data folder), and the ones found on disk (the Hugging Face cache, used in
// place, and the studio's own models folder).

import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ModelInfo } from '../../shared/contract.js';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { listCachedModels } from '../library/hub-cache.js';

export interface RegisteredModel extends ModelInfo {
  readonly dir: string;
}

async function isQwenImageFolder(dir: string): Promise<boolean> {
  return (await readFile(join(dir, 'model_index.json'), 'utf8').catch(() => '')).includes('"QwenImagePipeline"');
}

export class ModelRegistry {
  private readonly models = new Map<string, RegisteredModel>();

  /** `savedFile` remembers the folders the user added (absent: nothing is remembered, as for the CLI's --model). */
  constructor(
    demoModelDir: string,
    private readonly savedFile?: string,
  ) {
    this.models.set('demo', { id: 'demo', name: 'Studio demo (tiny Qwen-Image, abstract)', family: 'qwen-image', isDemo: true, origin: 'demo', dir: demoModelDir });
  }

  /** Makes a model folder available under an id (the CLI's --model, a finished download, a discovered folder). */
  register(id: string, dir: string, name = id, origin: NonNullable<ModelInfo['origin']> = 'folder'): RegisteredModel {
    const model: RegisteredModel = { id, name, family: 'qwen-image', isDemo: false, origin, path: dir, dir };
    this.models.set(id, model);
    return model;
  }

  get(id: string): RegisteredModel {
    const model = this.models.get(id);
    if (!model) throw new StudioError('model-not-found', notice('error.modelUnknown', { id }), id);
    return model;
  }

  list(): readonly RegisteredModel[] {
    return [...this.models.values()];
  }

  /** A folder the user added: listed now and after every restart. Adding one twice keeps one entry. */
  async addFolder(dir: string): Promise<RegisteredModel> {
    const known = this.list().find((m) => m.dir === dir);
    if (known) return known;
    const model = this.register(`folder:${dir}`, dir, folderName(dir), 'folder');
    if (this.savedFile) {
      const saved = await this.savedFolders();
      const tmp = `${this.savedFile}.partial`;
      await writeFile(tmp, `${JSON.stringify({ folders: [...new Set([...saved, dir])] }, null, 2)}\n`);
      await rename(tmp, this.savedFile);
    }
    return model;
  }

  private async savedFolders(): Promise<string[]> {
    if (!this.savedFile) return [];
    const text = await readFile(this.savedFile, 'utf8').catch(() => undefined);
    if (text === undefined) return [];
    try {
      const folders = (JSON.parse(text) as { folders?: unknown }).folders;
      return Array.isArray(folders) ? folders.filter((f): f is string => typeof f === 'string') : [];
    } catch {
      // A damaged list loses the remembered folders, not the studio's start.
      return [];
    }
  }

  /** Registers the model folders already on disk: the Hugging Face cache, `modelsDir`, the folders the user added. */
  async discover(modelsDir: string, env: NodeJS.ProcessEnv = process.env): Promise<RegisteredModel[]> {
    const found: RegisteredModel[] = [];
    for (const cached of await listCachedModels(env)) {
      if (await isQwenImageFolder(cached.snapshot)) found.push(this.register(`hf:${cached.repo}`, cached.snapshot, `${cached.repo} (Hugging Face cache)`, 'hf-cache'));
    }
    for (const name of await readdir(modelsDir).catch(() => [] as string[])) {
      if (await isQwenImageFolder(join(modelsDir, name))) found.push(this.register(`local:${name}`, join(modelsDir, name), name.replace('--', '/'), 'download'));
    }
    for (const dir of await this.savedFolders()) {
      if (!this.list().some((m) => m.dir === dir)) found.push(this.register(`folder:${dir}`, dir, folderName(dir), 'folder'));
    }
    return found;
  }
}

/** A folder's name as the model list shows it; a Hugging Face cache entry by its repository. */
function folderName(dir: string): string {
  const parts = dir.split(/[\\/]/);
  const repo = parts.find((p) => p.startsWith('models--'));
  return repo ? repo.slice('models--'.length).replace('--', '/') : basename(dir);
}
