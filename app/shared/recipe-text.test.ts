import { describe, expect, it } from 'vitest';
import { formatA1111Parameters } from './a1111-parameters.js';
import { LIGHTNING_SAMPLER } from './flow-match.js';
import type { Recipe } from './generation.js';
import { parseRecipeText, recipeTextOf } from './recipe-text.js';

const recipe: Recipe = {
  prompt: 'a lighthouse, <not a tag>, dusk',
  negativePrompt: 'fog',
  seed: 2024,
  steps: 4,
  guidance: 4,
  width: 928,
  height: 1664,
  modelId: 'local:Qwen--Qwen-Image',
  modelName: 'Qwen-Image',
  modelHashes: [{ file: 'transformer/diffusion_pytorch_model.safetensors', bytes: 1, sha256: 'ab'.repeat(32) }],
  loras: [
    { name: 'Lightning', sha256: 'cd'.repeat(32), strength: 1, role: 'speed' },
    { name: 'anime', sha256: 'ef'.repeat(32), strength: 0.75, role: 'style' },
  ],
  sampler: LIGHTNING_SAMPLER,
  appVersion: '0.1.0',
  device: 'cpu',
};

describe('recipe texts', () => {
  it('reads the studio\'s own recipe back exactly, LoRAs with their full hashes', () => {
    expect(parseRecipeText(formatA1111Parameters(recipe))).toEqual(recipeTextOf(recipe));
  });

  it('reads an A1111 text: LoRA tags leave the prompt, hashes and weights are kept', () => {
    const r = parseRecipeText(
      'masterpiece, <lora:ink_wash:0.6> a crane over a lake, <lora:detail-tweaker>\nNegative prompt: lowres\nSteps: 20, Sampler: DPM++ 2M, CFG scale: 5.5, Seed: 42, Size: 832x1216, Model hash: 31e35c80fc, Model: juggernaut, Lora hashes: "ink_wash: 0123456789ab, other: fedcba987654"',
    );
    expect(r).toEqual({
      source: 'a1111',
      prompt: 'masterpiece, a crane over a lake',
      negativePrompt: 'lowres',
      steps: 20,
      guidance: 5.5,
      seed: 42,
      width: 832,
      height: 1216,
      modelName: 'juggernaut',
      modelHash: '31e35c80fc',
      loras: [
        { name: 'ink_wash', strength: 0.6, sha256: '0123456789ab' },
        { name: 'detail-tweaker', strength: 1 },
        { name: 'other', sha256: 'fedcba987654', strength: 1 },
      ],
    });
  });

  it('takes a bare prompt, and nothing from an empty text', () => {
    expect(parseRecipeText('just a prompt')).toMatchObject({ source: 'a1111', prompt: 'just a prompt', loras: [] });
    expect(parseRecipeText('   ')).toBeUndefined();
  });
});
