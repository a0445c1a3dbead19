// The Create form as data: what the user typed (as text, so a half-typed number can be told apart from a
// valid one), its validation next to each field, the requests a Generate press sends, and the one mapping
// from a recipe back to the form that "Use recipe", "Reuse seed", "Reproduce" and a dropped image share.

import type { LoraCard, ModelInfo } from '../../shared/contract.js';
import { MAX_BATCH, MAX_SEED, OUTPUT_FORMATS, SIZE_PRESETS, validateGenerationRequest, type GenerationRequestInput, type OutputFormat } from '../../shared/generation.js';
import { familyById, familyRequestDefaults } from '../../shared/model-families.js';
import { loraFamilyProblem } from '../../shared/lora-family.js';
import { notice, type Notice } from '../../shared/notices.js';
import type { NamedLora, RecipeText } from '../../shared/recipe-text.js';

export interface FormLora {
  readonly id: string;
  readonly strength: number;
}

export interface FormState {
  readonly prompt: string;
  readonly negative: string;
  readonly guidance: string;
  readonly modelId: string;
  /** Every LoRA in the order the request names them: the speed LoRA (if any) and the styles. */
  readonly loras: readonly FormLora[];
  /** "1024x1024" (a preset) or "custom". */
  readonly size: string;
  readonly width: string;
  readonly height: string;
  readonly steps: string;
  /** Empty: a random seed for each image. */
  readonly seed: string;
  readonly format: OutputFormat;
  readonly batch: string;
  /** Image-to-image: an image of the history to start from, and how much of it to repaint. */
  readonly initImage?: { readonly generationId: string; readonly strength: number };
}

export type FormField = 'prompt' | 'negative' | 'guidance' | 'width' | 'height' | 'steps' | 'seed' | 'batch' | 'loras' | 'model';

export function defaultForm(modelId = 'demo'): FormState {
  return { prompt: '', negative: '', guidance: '1', modelId, loras: [], size: '1024x1024', width: '1024', height: '1024', steps: '4', seed: '', format: 'jpeg95', batch: '1' };
}

export function sizeOf(form: FormState): { width: string; height: string } {
  if (form.size === 'custom') return { width: form.width, height: form.height };
  const [w, h] = form.size.split('x');
  return { width: w ?? '', height: h ?? '' };
}

/** A whole number typed as plain digits; anything else is not one (so "1e3" or "0x10" is refused, not read). */
function wholeNumber(text: string): number | undefined {
  const t = text.trim();
  return /^\d{1,10}$/.test(t) ? Number(t) : undefined;
}

function decimal(text: string): number | undefined {
  const t = text.trim();
  return /^\d+(\.\d+)?$/.test(t) ? Number(t) : undefined;
}

const FIELD_OF: Record<string, FormField> = { prompt: 'prompt', negativePrompt: 'negative', guidance: 'guidance', width: 'width', height: 'height', steps: 'steps', seed: 'seed', loras: 'loras', modelId: 'model' };

export type Validation =
  | { readonly ok: true; readonly requests: readonly GenerationRequestInput[] }
  | { readonly ok: false; readonly problems: Partial<Record<FormField, Notice>> };

/**
 * Checks the form the way the studio will, field by field, and builds the requests of one Generate press.
 * With the chosen model and the library's cards, a LoRA of another family is a problem of the LoRAs field.
 */
export function validateForm(form: FormState, o: { readonly imageInput?: boolean; readonly model?: ModelInfo; readonly cards?: readonly LoraCard[] } = {}): Validation {
  const problems: Partial<Record<FormField, Notice>> = {};
  const { width, height } = sizeOf(form);
  const w = wholeNumber(width);
  const h = wholeNumber(height);
  const steps = wholeNumber(form.steps);
  const guidance = decimal(form.guidance);
  const batch = wholeNumber(form.batch);
  if (w === undefined) problems.width = notice('validation.widthWhole');
  if (h === undefined) problems.height = notice('validation.heightWhole');
  if (steps === undefined) problems.steps = notice('validation.stepsWhole');
  if (guidance === undefined) problems.guidance = notice('validation.guidanceMin');
  if (batch === undefined || batch < 1 || batch > MAX_BATCH) problems.batch = notice('validation.batchRange', { max: MAX_BATCH });
  let seed: number | undefined;
  if (form.seed.trim() !== '') {
    seed = wholeNumber(form.seed);
    if (seed === undefined) problems.seed = /^\s*\d+\s*$/.test(form.seed) ? notice('validation.seedMax', { max: MAX_SEED }) : notice('validation.seedWhole');
    // A locked seed counts up through a batch; the last one must still be a seed.
    else if (seed + Math.max(0, (batch ?? 1) - 1) > MAX_SEED) problems.seed = notice('validation.seedMax', { max: MAX_SEED });
  }
  const base: GenerationRequestInput = {
    prompt: form.prompt,
    negativePrompt: form.negative,
    steps: steps ?? 4,
    guidance: guidance ?? 1,
    width: w ?? 1024,
    height: h ?? 1024,
    modelId: form.modelId,
    format: form.format,
    loras: form.loras.map((l) => ({ id: l.id, strength: l.strength })),
    ...(seed !== undefined && problems.seed === undefined ? { seed } : {}),
    ...(o.imageInput && form.initImage ? { initImage: form.initImage } : {}),
  };
  const checked = validateGenerationRequest(base);
  if (!checked.ok) {
    for (const p of checked.problems) {
      const field = FIELD_OF[p.field.split('.')[0] ?? ''] ?? 'prompt';
      problems[field] ??= p.notice;
    }
  }
  if (o.model && o.cards && problems.loras === undefined) {
    for (const l of form.loras) {
      const card = o.cards.find((c) => c.id === l.id);
      const problem = card && loraFamilyProblem(card, o.model);
      if (problem) {
        problems.loras = problem;
        break;
      }
    }
  }
  if (Object.keys(problems).length > 0) return { ok: false, problems };
  const count = batch ?? 1;
  return { ok: true, requests: Array.from({ length: count }, (_, i) => (seed === undefined ? base : { ...base, seed: seed + i })) };
}

/** The size choices of a model's family (every preset when the family is not known). */
export function sizesFor(model: ModelInfo | undefined): readonly { readonly width: number; readonly height: number }[] {
  return (model ? familyById(model.family)?.sizes : undefined) ?? SIZE_PRESETS;
}

function allSizes(models: readonly ModelInfo[]): readonly { readonly width: number; readonly height: number }[] {
  return [...SIZE_PRESETS, ...models.flatMap((m) => sizesFor(m))];
}

/** A model of another family brings that family's size and steps; the same family keeps what was set. */
export function withModel(form: FormState, models: readonly ModelInfo[], modelId: string): FormState {
  const before = familyById(models.find((m) => m.id === form.modelId)?.family ?? '');
  const after = familyById(models.find((m) => m.id === modelId)?.family ?? '');
  if (!after || after.id === before?.id) return { ...form, modelId };
  const d = familyRequestDefaults(after);
  return { ...form, modelId, size: `${d.width}x${d.height}`, width: String(d.width), height: String(d.height), steps: String(d.steps), guidance: String(d.guidance), ...(after.imageInput ? {} : { initImage: undefined }) };
}

/** Why a recipe could not be put in the form exactly as it was. */
export type RecipeNote =
  | { readonly kind: 'loraMissing'; readonly name: string }
  | { readonly kind: 'modelMissing'; readonly name: string };

/** LoRAs of a recipe found in the library: by the full sha256, a hash prefix (A1111), else by name. */
export function findLora(named: NamedLora, cards: readonly LoraCard[]): LoraCard | undefined {
  if (named.sha256) {
    const byHash = cards.find((c) => c.sha256 === named.sha256 || (named.sha256!.length < 64 && c.sha256.startsWith(named.sha256!)));
    if (byHash) return byHash;
  }
  return cards.find((c) => c.name === named.name || c.name.toLowerCase() === named.name.toLowerCase());
}

/**
 * The form a recipe fills: every field the recipe has, LoRAs resolved back to the library, the model when
 * it is installed. Fields the recipe does not say (a foreign text without a size) keep the form's value.
 */
export function recipeToForm(r: RecipeText, current: FormState, cards: readonly LoraCard[], models: readonly ModelInfo[], format?: OutputFormat): { form: FormState; notes: RecipeNote[] } {
  const notes: RecipeNote[] = [];
  const loras: FormLora[] = [];
  for (const named of r.loras) {
    const card = findLora(named, cards);
    if (card) loras.push({ id: card.id, strength: named.strength });
    else notes.push({ kind: 'loraMissing', name: named.name });
  }
  let modelId = current.modelId;
  const model = (r.modelId !== undefined ? models.find((m) => m.id === r.modelId) : undefined) ?? (r.modelName !== undefined ? models.find((m) => m.name === r.modelName) : undefined);
  if (model) modelId = model.id;
  else if (r.modelId !== undefined || r.modelName !== undefined) notes.push({ kind: 'modelMissing', name: r.modelName ?? r.modelId ?? '' });
  const width = r.width !== undefined ? String(r.width) : sizeOf(current).width;
  const height = r.height !== undefined ? String(r.height) : sizeOf(current).height;
  const preset = allSizes(models).some((p) => `${p.width}x${p.height}` === `${width}x${height}`);
  const form: FormState = {
    ...current,
    prompt: r.prompt,
    negative: r.negativePrompt,
    guidance: r.guidance !== undefined ? String(r.guidance) : current.guidance,
    modelId,
    loras,
    size: preset ? `${width}x${height}` : 'custom',
    width,
    height,
    steps: r.steps !== undefined ? String(r.steps) : current.steps,
    seed: r.seed !== undefined ? String(r.seed) : current.seed,
    format: format && OUTPUT_FORMATS.includes(format) ? format : current.format,
    batch: '1',
    initImage: undefined,
  };
  return { form, notes };
}
