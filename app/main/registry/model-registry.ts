// The models the studio can run, by id: the built-in demo, folders named on the command line, and the
// ones found on disk (the Hugging Face cache, used in place, and the studio's own models folder).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

  constructor(demoModelDir: string) {
    this.models.set('demo', { id: 'demo', name: 'Studio demo (tiny Qwen-Image, abstract)', family: 'qwen-image', isDemo: true, dir: demoModelDir });
  }

  /** Makes a model folder available under an id (the CLI's --model, a finished download, a discovered folder). */
  register(id: string, dir: string, name = id): RegisteredModel {
    const model: RegisteredModel = { id, name, family: 'qwen-image', isDemo: false, dir };
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

  /** Registers the model folders already on disk: in the Hugging Face cache and in `modelsDir`. */
  async discover(modelsDir: string, env: NodeJS.ProcessEnv = process.env): Promise<RegisteredModel[]> {
    const found: RegisteredModel[] = [];
    for (const cached of await listCachedModels(env)) {
      if (await isQwenImageFolder(cached.snapshot)) found.push(this.register(`hf:${cached.repo}`, cached.snapshot, `${cached.repo} (Hugging Face cache)`));
    }
    for (const name of await readdir(modelsDir).catch(() => [] as string[])) {
      if (await isQwenImageFolder(join(modelsDir, name))) found.push(this.register(`local:${name}`, join(modelsDir, name), name.replace('--', '/')));
    }
    return found;
  }
}
