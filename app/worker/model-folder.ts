// Recognises a model folder by its model_index.json and says clearly what it is and whether it can run.

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StudioError } from '../shared/result.js';
import { DEMO_CLASS_NAME, DEMO_WEIGHTS_FILE } from './demo/demo-model.js';

export interface ModelFolder {
  readonly dir: string;
  readonly family: 'studio-demo';
  readonly name: string;
  /** Files, relative to dir, whose bytes determine the output (hashed into every recipe). */
  readonly files: readonly string[];
}

export async function openModelFolder(dirInput: string): Promise<ModelFolder> {
  const dir = resolve(dirInput);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new StudioError('model-not-found', `There is no model folder at ${dir}.`, dir);
  }
  const indexPath = join(dir, 'model_index.json');
  const text = await readFile(indexPath, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new StudioError(
      'model-not-found',
      `${dir} has no model_index.json. Point the studio at a diffusers-layout model folder (the one holding model_index.json, transformer/, vae/ ...).`,
      dir,
    );
  }
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch {
    throw new StudioError('model-unsupported', `${indexPath} is not valid JSON.`, indexPath);
  }
  const className = typeof index === 'object' && index !== null ? (index as Record<string, unknown>)._class_name : undefined;
  if (className === DEMO_CLASS_NAME) {
    const name = (index as Record<string, unknown>).name;
    return { dir, family: 'studio-demo', name: typeof name === 'string' ? name : 'Studio demo', files: [DEMO_WEIGHTS_FILE] };
  }
  if (className === 'QwenImagePipeline') {
    throw new StudioError(
      'model-unsupported',
      'This is a Qwen-Image folder. The studio recognises it, but this build cannot run Qwen-Image yet; generate with the built-in demo model for now.',
      dir,
    );
  }
  throw new StudioError(
    'model-unsupported',
    `${dir} holds a ${typeof className === 'string' ? className : 'model of unknown type'}, which the studio cannot run.`,
    dir,
  );
}
