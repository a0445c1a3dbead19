// Whether a downloaded diffusers folder is a whole model: every component model_index.json names has its
// config (and, for weight-bearing components, its weights), and every shard a safetensors index lists is
// there. A hub listing cut short would otherwise install a folder that fails only when an image is made.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { globMatch } from '../../shared/catalog.js';

/** The config file diffusers and transformers read for a component of this class. */
export function configFileFor(className: string): string {
  if (/Scheduler$/.test(className)) return 'scheduler_config.json';
  if (/Tokenizer(Fast)?$/.test(className)) return 'tokenizer_config.json';
  if (/(Processor|FeatureExtractor)$/.test(className)) return 'preprocessor_config.json';
  return 'config.json';
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

/** A component is checked when the pull asked for its folder (all of them without include globs). */
function inScope(component: string, include: readonly string[] | undefined): boolean {
  if (!include?.length) return true;
  return include.some((g) => g.startsWith(`${component}/`) || globMatch(g, `${component}/config.json`));
}

/**
 * What is missing from a model folder, as paths relative to it; empty when it is complete. A folder
 * without model_index.json is not a diffusers model (a LoRA repository) and has nothing to check.
 */
export async function missingModelFiles(dir: string, include?: readonly string[]): Promise<string[]> {
  const indexText = await readFile(join(dir, 'model_index.json'), 'utf8').catch(() => undefined);
  if (indexText === undefined) return [];
  let index: unknown;
  try {
    index = JSON.parse(indexText);
  } catch {
    return ['model_index.json (not valid JSON)'];
  }
  if (typeof index !== 'object' || index === null || Array.isArray(index)) return ['model_index.json (not a component table)'];
  const missing: string[] = [];
  for (const [component, spec] of Object.entries(index)) {
    // Entries such as "_class_name" describe the pipeline; [null, null] marks an optional part left out.
    if (component.startsWith('_') || !Array.isArray(spec) || typeof spec[1] !== 'string') continue;
    if (!inScope(component, include)) continue;
    const folder = join(dir, component);
    const config = configFileFor(spec[1]);
    if (!(await isFile(join(folder, config)))) missing.push(`${component}/${config}`);
    const names = await readdir(folder).catch(() => [] as string[]);
    const indexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
    for (const name of indexes) {
      let shards: string[];
      try {
        const weightMap = (JSON.parse(await readFile(join(folder, name), 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
        shards = [...new Set(Object.values(weightMap ?? {}))];
        if (shards.length === 0) throw new Error('empty weight map');
      } catch {
        missing.push(`${component}/${name} (not a valid shard index)`);
        continue;
      }
      for (const shard of shards.sort()) if (!(await isFile(join(folder, shard)))) missing.push(`${component}/${shard}`);
    }
    // Components configured by config.json carry weights: one safetensors file or an index of shards.
    if (config === 'config.json' && indexes.length === 0 && !names.some((n) => n.endsWith('.safetensors'))) {
      missing.push(`${component}/*.safetensors`);
    }
  }
  return missing;
}
