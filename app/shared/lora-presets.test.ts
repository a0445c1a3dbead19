import { describe, expect, it } from 'vitest';
import { speedPresetFor } from './lora-presets.js';

describe('speed LoRA presets', () => {
  it.each([
    ['Qwen-Image-Lightning-4steps-V1.0.safetensors', 'lightning-4', 4],
    ['Qwen-Image-Lightning-8steps-V2.0-bf16.safetensors', 'lightning-8', 8],
    ['Qwen-Image-2512-Lightning-4steps-V1.0-fp32.safetensors', 'lightning-4', 4],
    ['Wuli-Qwen-Image-2512-Turbo-LoRA-2steps-V1.0.safetensors', 'turbo-2', 2],
    ['Wuli-Qwen-Image-2512-Turbo-LoRA-4steps.safetensors', 'turbo-4', 4],
  ])('recognises %s', (name, id, steps) => {
    expect(speedPresetFor(name)).toMatchObject({ id, steps, guidance: 1, sampler: { baseShift: Math.log(3), maxShift: Math.log(3), shiftTerminal: null } });
  });

  it('leaves style LoRAs alone', () => {
    expect(speedPresetFor('anime-style.safetensors')).toBeUndefined();
    expect(speedPresetFor('logo_v2.safetensors')).toBeUndefined();
  });
});
