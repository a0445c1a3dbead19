import { describe, expect, it } from 'vitest';
import { familySampling, knownSampler, knownScheduler } from './a1111-names.js';
import { parsePromptLoras } from './prompt-loras.js';

describe('LoRA tags in prompts', () => {
  it('takes name and strength out of the text, as A1111 does', () => {
    expect(parsePromptLoras('a cat, <lora:anime-style:0.7>, masterpiece')).toEqual({
      ok: true,
      prompt: 'a cat, masterpiece',
      loras: [{ name: 'anime-style', strength: 0.7, tag: '<lora:anime-style:0.7>' }],
    });
    const r = parsePromptLoras('<LORA:Qwen-Image-Lightning-4steps-V1.0> 一只猫 <lyco:logo style:-.5:1> <lora:x:te=0.25>');
    expect(r).toMatchObject({
      ok: true,
      prompt: '一只猫',
      loras: [
        { name: 'Qwen-Image-Lightning-4steps-V1.0', strength: 1 },
        { name: 'logo style', strength: -0.5 },
        { name: 'x', strength: 0.25 },
      ],
    });
    expect(parsePromptLoras('no tags <here>')).toEqual({ ok: true, prompt: 'no tags <here>', loras: [] });
  });

  it('refuses a strength that is no number, naming the tag', () => {
    expect(parsePromptLoras('x <lora:a:strong>')).toEqual({ ok: false, tag: '<lora:a:strong>', message: expect.stringMatching(/<lora:a:strong>: the strength must be a number/) });
    expect(parsePromptLoras('x <lora:a:1e400>')).toMatchObject({ ok: false });
  });
});

describe('A1111 sampler and scheduler names', () => {
  it('knows A1111’s names, aliases and old "<sampler> <schedule>" forms, and nothing else', () => {
    expect(knownSampler('Euler a')).toBe('Euler a');
    expect(knownSampler('k_dpmpp_2m')).toBe('DPM++ 2M');
    expect(knownSampler('DPM++ 2M Karras')).toBe('DPM++ 2M');
    expect(knownSampler('dpm++ sde exponential')).toBe('DPM++ SDE');
    expect(knownSampler('Warp Drive')).toBeUndefined();
    expect(knownSampler('Warp Drive Karras')).toBeUndefined();
    expect(knownScheduler('Align Your Steps')).toBe('align_your_steps');
    expect(knownScheduler('sgm_uniform')).toBe('sgm_uniform');
    expect(knownScheduler('cosine')).toBeUndefined();
  });

  it('runs flow-match Euler for Qwen-Image', () => {
    expect(familySampling('qwen-image')).toMatchObject({ sampler: 'Euler', scheduler: 'automatic' });
  });
});
