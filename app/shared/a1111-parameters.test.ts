import { describe, expect, it } from 'vitest';
import { formatA1111Parameters, parseA1111Parameters } from './a1111-parameters.js';
import { LIGHTNING_SAMPLER } from './flow-match.js';
import type { Recipe } from './generation.js';

const recipe: Recipe = {
  prompt: '一只红色的狐狸, snowy forest, "morning" light',
  negativePrompt: 'blurry, lowres',
  seed: 7,
  steps: 4,
  guidance: 1,
  width: 1024,
  height: 768,
  modelId: 'demo',
  modelName: 'Studio demo, abstract',
  modelHashes: [{ file: 'demo.safetensors', bytes: 10, sha256: 'ab'.repeat(32) }],
  loras: [],
  sampler: LIGHTNING_SAMPLER,
  appVersion: '0.1.0',
  device: 'cpu',
};

describe('A1111 parameters', () => {
  const text = formatA1111Parameters(recipe);

  it('writes the weights file\'s hash as the Model hash, not a config file\'s', () => {
    const folder: Recipe = {
      ...recipe,
      modelHashes: [
        { file: 'transformer/config.json', bytes: 500, sha256: 'c0'.repeat(32) },
        { file: 'transformer/diffusion_pytorch_model.safetensors', bytes: 10, sha256: 'f1'.repeat(32) },
        { file: 'vae/diffusion_pytorch_model.safetensors', bytes: 10, sha256: 'aa'.repeat(32) },
      ],
    };
    expect(parseA1111Parameters(formatA1111Parameters(folder)).settings['Model hash']).toBe('f1f1f1f1f1');
  });

  it('uses the layout other tools read', () => {
    const lines = text.split('\n');
    expect(lines[0]).toBe(recipe.prompt);
    expect(lines[1]).toBe('Negative prompt: blurry, lowres');
    expect(lines[2]).toMatch(/^Steps: 4, Sampler: Euler, .*CFG scale: 1, Seed: 7, Size: 1024x768, Model hash: abababab/);
  });

  it('round-trips prompt, settings and the exact recipe', () => {
    const parsed = parseA1111Parameters(text);
    expect(parsed.prompt).toBe(recipe.prompt);
    expect(parsed.negativePrompt).toBe(recipe.negativePrompt);
    expect(parsed.settings.Seed).toBe('7');
    expect(parsed.settings.Model).toBe('Studio demo, abstract');
    expect(JSON.parse(parsed.settings['Studio recipe']!)).toEqual(recipe);
  });

  it('reads parameters written by A1111 itself', () => {
    const parsed = parseA1111Parameters(
      'masterpiece, a cat\nNegative prompt: ugly\nSteps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 123, Size: 512x512, Model hash: 6ce0161689',
    );
    expect(parsed).toEqual({
      prompt: 'masterpiece, a cat',
      negativePrompt: 'ugly',
      settings: { Steps: '20', Sampler: 'DPM++ 2M', 'CFG scale': '7', Seed: '123', Size: '512x512', 'Model hash': '6ce0161689' },
    });
  });
});
