// The components a Qwen-Image folder has, as the family's code reads them.

import { withComponents, type ModelFolder } from '../model-folder.js';

export const QWEN_COMPONENTS = ['textEncoder', 'transformer', 'vae', 'tokenizer', 'scheduler'] as const;
export type QwenFolder = ModelFolder<(typeof QWEN_COMPONENTS)[number]>;

export function asQwenFolder(folder: ModelFolder): QwenFolder {
  return withComponents(folder, QWEN_COMPONENTS);
}
