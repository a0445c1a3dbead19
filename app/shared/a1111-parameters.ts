// The A1111 "parameters" text that other tools (A1111, Forge, ComfyUI readers, Civitai) read from images.

import type { Recipe } from './generation.js';
import { a1111Sampler } from './samplers.js';

/** Quotes a value the way A1111 does when it would break the comma-separated list. */
function quoteIfNeeded(value: string): string {
  return /[,:\n"]/.test(value) ? JSON.stringify(value) : value;
}

/**
 * Layout: the prompt, a "Negative prompt:" line when there is one, then one line of `Key: value` pairs.
 * The studio's own exact recipe follows as `Studio recipe: {json}` so nothing is lost in the round trip.
 */
export function formatA1111Parameters(recipe: Recipe): string {
  const sampler = a1111Sampler(recipe.sampler);
  const pairs: [string, string][] = [
    ['Steps', String(recipe.steps)],
    ['Sampler', sampler.sampler],
    ['Schedule type', sampler.schedule],
    ['CFG scale', String(recipe.guidance)],
    ['Seed', String(recipe.seed)],
    ['Size', `${recipe.width}x${recipe.height}`],
  ];
  if (recipe.initImage) pairs.push(['Denoising strength', String(recipe.initImage.strength)]);
  // A1111's "Model hash" is the checkpoint's weights. A diffusers folder has one weights file per component:
  // the denoiser's (listed first) stands for the model, never a config file.
  const mainHash = recipe.modelHashes.find((h) => h.file.endsWith('.safetensors'));
  if (mainHash) pairs.push(['Model hash', mainHash.sha256.slice(0, 10)]);
  pairs.push(['Model', recipe.modelName]);
  if (recipe.loras.length > 0) {
    pairs.push(['Lora hashes', recipe.loras.map((l) => `${l.name}: ${l.sha256.slice(0, 12)}`).join(', ')]);
  }
  pairs.push(['Version', `studio ${recipe.appVersion}`]);
  pairs.push(['Studio recipe', JSON.stringify(recipe)]);
  const lines = [recipe.prompt];
  if (recipe.negativePrompt.trim() !== '') lines.push(`Negative prompt: ${recipe.negativePrompt}`);
  lines.push(pairs.map(([k, v]) => `${k}: ${k === 'Studio recipe' ? v : quoteIfNeeded(v)}`).join(', '));
  return lines.join('\n');
}

export interface ParsedParameters {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly settings: Readonly<Record<string, string>>;
}

/** Reads A1111-style parameters: the last line holding `Steps:` carries the settings. */
export function parseA1111Parameters(text: string): ParsedParameters {
  const lines = text.split('\n');
  let settingsLine = '';
  const last = lines[lines.length - 1] ?? '';
  if (/(^|,\s*)Steps: /.test(last)) {
    settingsLine = last;
    lines.pop();
  }
  const negIndex = lines.findIndex((l) => l.startsWith('Negative prompt:'));
  const promptLines = negIndex === -1 ? lines : lines.slice(0, negIndex);
  const negative = negIndex === -1 ? '' : lines.slice(negIndex).join('\n').slice('Negative prompt:'.length).trim();
  return { prompt: promptLines.join('\n'), negativePrompt: negative, settings: parseSettingsLine(settingsLine) };
}

function parseSettingsLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < line.length) {
    const colon = line.indexOf(': ', i);
    if (colon === -1) break;
    const key = line.slice(i, colon).trim();
    let j = colon + 2;
    let value: string;
    if (line[j] === '"') {
      // A JSON string: find its closing quote, honouring escapes.
      let k = j + 1;
      while (k < line.length && line[k] !== '"') k += line[k] === '\\' ? 2 : 1;
      value = JSON.parse(line.slice(j, k + 1)) as string;
      j = k + 1;
    } else if (line[j] === '{') {
      // The studio's JSON recipe: balanced braces, strings skipped.
      let depth = 0;
      let k = j;
      for (; k < line.length; k++) {
        const c = line[k];
        if (c === '"') {
          k++;
          while (k < line.length && line[k] !== '"') k += line[k] === '\\' ? 2 : 1;
        } else if (c === '{') depth++;
        else if (c === '}' && --depth === 0) break;
      }
      value = line.slice(j, k + 1);
      j = k + 1;
    } else {
      const comma = line.indexOf(', ', j);
      const end = comma === -1 ? line.length : comma;
      value = line.slice(j, end);
      j = end;
    }
    out[key] = value;
    i = line.startsWith(', ', j) ? j + 2 : j;
    if (i === j && j < line.length) i = j + 1;
  }
  return out;
}
