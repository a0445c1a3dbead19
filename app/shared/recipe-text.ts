// A recipe read back from an image's parameters text: the studio's own exact recipe when the text carries
// one, else what an A1111-style text says (A1111, Forge, Fooocus): prompt, negative prompt, steps, CFG,
// seed, size, model and LoRAs (`<lora:name:weight>` tags and "Lora hashes").

import { parseA1111Parameters } from './a1111-parameters.js';
import type { Recipe } from './generation.js';

/** A LoRA a text names: the full sha256 (the studio's own), a hash prefix (A1111) or only a name. */
export interface NamedLora {
  readonly name: string;
  readonly sha256?: string;
  readonly strength: number;
  readonly role?: 'speed' | 'style';
}

/** What a recipe text says; absent fields were not in the text. */
export interface RecipeText {
  readonly source: 'studio' | 'a1111';
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly steps?: number;
  readonly guidance?: number;
  readonly seed?: number;
  readonly width?: number;
  readonly height?: number;
  readonly modelId?: string;
  readonly modelName?: string;
  readonly modelHash?: string;
  readonly loras: readonly NamedLora[];
  /** Image-to-image (the studio's own recipes): the input image, a history id or a file name, and the strength. */
  readonly initImage?: { readonly source: string; readonly strength: number };
}

function isRecipe(v: unknown): v is Recipe {
  const r = v as Partial<Recipe> | null;
  return typeof r === 'object' && r !== null && typeof r.prompt === 'string' && typeof r.seed === 'number' && typeof r.steps === 'number' && typeof r.width === 'number' && typeof r.height === 'number' && Array.isArray(r.loras);
}

/** The recipe a history record or a studio image carries, as a recipe text. */
export function recipeTextOf(r: Recipe): RecipeText {
  return {
    source: 'studio',
    prompt: r.prompt,
    negativePrompt: r.negativePrompt,
    steps: r.steps,
    guidance: r.guidance,
    seed: r.seed,
    width: r.width,
    height: r.height,
    modelId: r.modelId,
    modelName: r.modelName,
    loras: r.loras.map((l) => ({ name: l.name, sha256: l.sha256, strength: l.strength, role: l.role })),
    ...(r.initImage ? { initImage: { source: r.initImage.source, strength: r.initImage.strength } } : {}),
  };
}

const num = (s: string | undefined): number | undefined => (s !== undefined && s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined);

/** Reads a parameters text; undefined when it holds no prompt at all. */
export function parseRecipeText(text: string): RecipeText | undefined {
  const parsed = parseA1111Parameters(text.replace(/\r\n/g, '\n').trim());
  const studio = parsed.settings['Studio recipe'];
  if (studio) {
    try {
      const r: unknown = JSON.parse(studio);
      if (isRecipe(r)) return recipeTextOf(r);
    } catch {
      // A damaged studio recipe: read what the A1111 part says.
    }
  }
  // A1111 keeps LoRAs in the prompt as <lora:name:weight>; the studio keeps them apart.
  const loras: NamedLora[] = [];
  const prompt = parsed.prompt
    .replace(/<lora:([^:>]+)(?::([-\d.]+))?[^>]*>/g, (_, name: string, weight?: string) => {
      loras.push({ name: name.trim(), strength: num(weight) ?? 1 });
      return '';
    })
    .replace(/\s*,\s*(,\s*)+/g, ', ')
    .replace(/^[\s,]+|[\s,]+$/g, '')
    .replace(/[ \t]{2,}/g, ' ');
  if (prompt === '' && loras.length === 0) return undefined;
  const hashes = parseLoraHashes(parsed.settings['Lora hashes']);
  const size = /^(\d+)x(\d+)$/.exec(parsed.settings.Size ?? '');
  const withHashes = loras.map((l) => (hashes[l.name] ? { ...l, sha256: hashes[l.name] } : l));
  for (const [name, sha256] of Object.entries(hashes)) if (!withHashes.some((l) => l.name === name)) withHashes.push({ name, sha256, strength: 1 });
  const steps = num(parsed.settings.Steps);
  const guidance = num(parsed.settings['CFG scale']);
  const seed = num(parsed.settings.Seed);
  return {
    source: 'a1111',
    prompt,
    negativePrompt: parsed.negativePrompt,
    ...(steps !== undefined ? { steps } : {}),
    ...(guidance !== undefined ? { guidance } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(size ? { width: Number(size[1]), height: Number(size[2]) } : {}),
    ...(parsed.settings.Model ? { modelName: parsed.settings.Model } : {}),
    ...(parsed.settings['Model hash'] ? { modelHash: parsed.settings['Model hash'].toLowerCase() } : {}),
    loras: withHashes,
  };
}

/** "name: hash, name2: hash2" (A1111 writes it quoted; the parser unquoted it). */
function parseLoraHashes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const m = /^\s*(.+?):\s*([0-9a-fA-F]{6,64})\s*$/.exec(part);
    if (m) out[m[1]!] = m[2]!.toLowerCase();
  }
  return out;
}
