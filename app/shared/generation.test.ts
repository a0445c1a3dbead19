import { describe, expect, it } from 'vitest';
import { MAX_SEED, parseSeed, parseSize, validateGenerationRequest } from './generation.js';
import { toWorkerSchema } from './worker-protocol.js';

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
    ['a seed of 1e20', { seed: 1e20 }, /^seed: The seed must be at most 4294967295/],
    ['a seed beyond 2^53', { seed: 2 ** 53 + 2 }, /^seed: The seed must be at most 4294967295/],
    ['a seed that is not a number', { seed: '7' }, /^seed: The seed must be a number/],
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

describe('seeds', () => {
  it('reads a typed seed only as plain decimal digits up to 2^32-1', () => {
    expect(['0', ' 42 ', '4294967295'].map(parseSeed)).toEqual([0, 42, MAX_SEED]);
    expect(['4294967296', '0x10', '1e3', '-1', '1.5', '', '99999999999999999999', '٣'].map(parseSeed)).toEqual(Array(8).fill(undefined));
  });

  it('the worker refuses a job whose seed does not fit 32 bits', () => {
    const job = { type: 'generate', seq: 1, jobId: 'j', modelDir: '.', loras: [], request: { ...good, negativePrompt: '', guidance: 1, modelId: 'demo', format: 'png', loras: [], seed: 2 ** 32 } };
    expect(toWorkerSchema.safeParse(job).success).toBe(false);
    expect(toWorkerSchema.safeParse({ ...job, request: { ...job.request, seed: MAX_SEED } }).success).toBe(true);
  });
});
