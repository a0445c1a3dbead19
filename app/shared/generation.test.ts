import { describe, expect, it } from 'vitest';
import { parseSize, validateGenerationRequest } from './generation.js';

const good = { prompt: 'a red fox', steps: 4, width: 1024, height: 1024 };

function problems(input: unknown): string[] {
  const r = validateGenerationRequest(input);
  return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`);
}

describe('validateGenerationRequest', () => {
  it('accepts a minimal request and fills defaults', () => {
    const r = validateGenerationRequest(good);
    expect(r.ok && r.value).toMatchObject({ negativePrompt: '', guidance: 1, modelId: 'demo', format: 'jpeg95' });
  });

  it('accepts Chinese prompts', () => {
    expect(problems({ ...good, prompt: '一只红色的狐狸，雪林' })).toEqual([]);
  });

  it.each([
    ['an empty prompt', { prompt: '   ' }, /prompt: The prompt is empty/],
    ['a width not a multiple of 16', { width: 1000 }, /width: Width must be a multiple of 16/],
    ['a height below the minimum', { height: 128 }, /height: Height must be at least 256/],
    ['a side beyond the maximum', { width: 4096 }, /width: Width must be at most 2048/],
    ['zero steps', { steps: 0 }, /steps: Steps must be between 1 and 50/],
    ['too many steps', { steps: 51 }, /steps: Steps must be between 1 and 50/],
    ['fractional steps', { steps: 2.5 }, /steps: Steps must be a whole number/],
    ['a negative seed', { seed: -1 }, /seed: The seed cannot be negative/],
    ['a seed beyond 32 bits', { seed: 2 ** 32 }, /seed: The seed must be at most 4294967295/],
    ['guidance below 1', { guidance: 0.5 }, /guidance: Guidance must be at least 1.0/],
    ['an unknown field', { sampler: 'ddim' }, /Unrecognized key/i],
  ])('refuses %s with a message naming the field', (_, patch, pattern) => {
    expect(problems({ ...good, ...patch }).join('\n')).toMatch(pattern);
  });

  it('refuses more than 4.2 megapixels even when each side is allowed', () => {
    expect(problems({ ...good, width: 2048, height: 2064 }).join()).toMatch(/height: Height must be at most 2048/);
  });
});

describe('parseSize', () => {
  it('reads WxH in its usual spellings', () => {
    expect(parseSize('1024x768')).toEqual({ width: 1024, height: 768 });
    expect(parseSize(' 928×1664 ')).toEqual({ width: 928, height: 1664 });
    expect(parseSize('1024')).toBeUndefined();
  });
});
