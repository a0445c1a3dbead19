import { describe, expect, it } from 'vitest';
import type { LoraCard, ModelInfo } from '../../shared/contract.js';
import { MAX_SEED } from '../../shared/generation.js';
import { defaultForm, recipeToForm, validateForm, type FormState } from './form.js';

const form = (patch: Partial<FormState>): FormState => ({ ...defaultForm(), prompt: 'a fox', ...patch });
const card = (id: string, sha256: string, role: 'speed' | 'style' = 'style'): LoraCard => ({ id, name: id, sha256, role, architecture: 'qwen-image', runnable: true, rank: 4, triggerWords: [] });
const models: ModelInfo[] = [
  { id: 'demo', name: 'demo', family: 'qwen-image', isDemo: true },
  { id: 'local:q', name: 'Qwen-Image', family: 'qwen-image', isDemo: false },
];

describe('the Create form', () => {
  it('builds one request per image of a batch, a locked seed counting up', () => {
    const v = validateForm(form({ seed: '10', batch: '3', loras: [{ id: 'a', strength: 0.5 }] }));
    expect(v.ok && v.requests.map((r) => r.seed)).toEqual([10, 11, 12]);
    expect(v.ok && v.requests[0]).toMatchObject({ prompt: 'a fox', width: 1024, height: 1024, steps: 4, guidance: 1, loras: [{ id: 'a', strength: 0.5 }] });
    const random = validateForm(form({ batch: '2' }));
    expect(random.ok && random.requests.map((r) => r.seed)).toEqual([undefined, undefined]);
  });

  it.each([
    ['a seed above 2^32-1', { seed: String(MAX_SEED + 1) }, 'seed', 'validation.seedMax'],
    ['a batch whose last seed would pass 2^32-1', { seed: String(MAX_SEED - 1), batch: '3' }, 'seed', 'validation.seedMax'],
    ['a seed that is not plain digits', { seed: '1e3' }, 'seed', 'validation.seedWhole'],
    ['a width that is no multiple of 16', { size: 'custom', width: '1000', height: '1024' }, 'width', 'validation.widthMultiple'],
    ['a half-typed height', { size: 'custom', width: '512', height: '5x' }, 'height', 'validation.heightWhole'],
    ['an empty prompt', { prompt: '  ' }, 'prompt', 'validation.promptEmpty'],
    ['no steps', { steps: '0' }, 'steps', 'validation.stepsRange'],
    ['a batch of 17', { batch: '17' }, 'batch', 'validation.batchRange'],
  ] as const)('refuses %s, naming the field', (_, patch, field, key) => {
    const v = validateForm(form(patch));
    expect(v.ok).toBe(false);
    expect(!v.ok && v.problems[field]?.key).toBe(key);
  });

  it('refuses a LoRA of another family than the model, naming it and both families; the same family passes', () => {
    const xl: LoraCard = { ...card('xl-ink', '33'.repeat(32)), architecture: 'sdxl' };
    const qwen = card('paint', '44'.repeat(32));
    const sd: ModelInfo = { id: 'sd', name: 'tiny-sd-turbo', family: 'sd-turbo', isDemo: false };
    const onDemo = validateForm(form({ loras: [{ id: 'paint', strength: 1 }, { id: 'xl-ink', strength: 0.8 }] }), { model: models[0], cards: [xl, qwen] });
    expect(!onDemo.ok && onDemo.problems.loras).toEqual({ key: 'validation.loraOtherFamily', params: { name: 'xl-ink', loraFamily: 'SDXL-Turbo', model: 'demo', modelFamily: 'Qwen-Image' } });
    const onSd = validateForm(form({ loras: [{ id: 'paint', strength: 1 }] }), { model: sd, cards: [xl, qwen] });
    expect(!onSd.ok && onSd.problems.loras).toMatchObject({ key: 'validation.loraOtherFamily', params: { name: 'paint', loraFamily: 'Qwen-Image', modelFamily: 'SD-Turbo' } });
    expect(validateForm(form({ loras: [{ id: 'paint', strength: 1 }] }), { model: models[0], cards: [xl, qwen] }).ok).toBe(true);
    // A LoRA of a family the studio does not run at all says what it is.
    const flux: LoraCard = { ...card('flux', '55'.repeat(32)), architecture: 'flux', runnable: false };
    const v = validateForm(form({ loras: [{ id: 'flux', strength: 1 }] }), { model: models[0], cards: [flux] });
    expect(!v.ok && v.problems.loras?.params).toMatchObject({ loraFamily: 'FLUX' });
  });

  it('fills every field from a recipe, finding LoRAs by hash (full or prefix) and saying what is missing', () => {
    const cards = [card('speed1', '11'.repeat(32), 'speed'), card('ink', '22'.repeat(32))];
    const { form: f, notes } = recipeToForm(
      {
        source: 'studio',
        prompt: 'p',
        negativePrompt: 'n',
        steps: 8,
        guidance: 3,
        seed: 5,
        width: 928,
        height: 1664,
        modelId: 'local:q',
        modelName: 'Qwen-Image',
        loras: [
          { name: 'renamed speed', sha256: '11'.repeat(32), strength: 1, role: 'speed' },
          { name: 'ink', sha256: '222222', strength: 0.4 },
          { name: 'gone', sha256: '33'.repeat(32), strength: 1 },
        ],
      },
      form({ batch: '4' }),
      cards,
      models,
      'png',
    );
    expect(f).toEqual({ ...defaultForm(), prompt: 'p', negative: 'n', steps: '8', guidance: '3', seed: '5', size: '928x1664', width: '928', height: '1664', modelId: 'local:q', format: 'png', batch: '1', loras: [{ id: 'speed1', strength: 1 }, { id: 'ink', strength: 0.4 }] });
    expect(notes).toEqual([{ kind: 'loraMissing', name: 'gone' }]);
  });

  it('keeps what a foreign recipe does not say, and notes a model that is not installed', () => {
    const current = form({ steps: '6', size: 'custom', width: '640', height: '512' });
    const { form: f, notes } = recipeToForm({ source: 'a1111', prompt: 'q', negativePrompt: '', modelName: 'juggernaut', loras: [] }, current, [], models);
    expect(f).toMatchObject({ prompt: 'q', steps: '6', size: 'custom', width: '640', height: '512', modelId: 'demo' });
    expect(notes).toEqual([{ kind: 'modelMissing', name: 'juggernaut' }]);
  });
});
