import { describe, expect, it } from 'vitest';
import { a1111Sampler } from './samplers.js';
import { FAMILIES, familyOfLoraArchitecture, familyOfPipelineClass, familyRequestDefaults, loraArchitectureOf, SPEED_PRESETS } from './model-families.js';
import { speedPresetFor } from './lora-presets.js';

const keys = (names: string[], shapes: Record<string, number[]> = {}) => ({ names, downShape: (k: string) => shapes[k] });

describe('the model-family registry', () => {
  it('recognises each family by its pipeline class and nothing else', () => {
    for (const f of Object.values(FAMILIES)) for (const c of f.pipelineClasses) expect(familyOfPipelineClass(c)).toBe(f);
    expect(familyOfPipelineClass('FluxPipeline')).toBeUndefined();
    expect(familyOfPipelineClass(42)).toBeUndefined();
  });

  it('gives live mode the family live size and steps, and keeps a family without them as it is', () => {
    const turbo = Object.values(FAMILIES).find((f) => f.live)!;
    expect(familyRequestDefaults(turbo, true)).toMatchObject(turbo.live!);
    const plain = Object.values(FAMILIES).find((f) => !f.live)!;
    expect(familyRequestDefaults(plain, true)).toEqual(plain.defaults);
  });

  it('tells LoRA architectures apart by their keys and widths', () => {
    expect(loraArchitectureOf(keys(['lora_unet_input_blocks_4_1_transformer_blocks_0_ff_net_2.lora_down.weight', 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight']))).toBe('sdxl');
    const sd2 = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight';
    expect(loraArchitectureOf(keys([sd2], { [sd2]: [4, 1024] }))).toBe('sd2');
    expect(loraArchitectureOf(keys([sd2], { [sd2]: [4, 768] }))).toBe('sd1');
    expect(loraArchitectureOf(keys(['transformer_blocks.0.img_mlp.net.2.lora_down.weight']))).toBe('qwen-image');
    expect(loraArchitectureOf(keys(['lora_unet_single_blocks_0_linear1.lora_down.weight']))).toBe('flux');
    expect(familyOfLoraArchitecture('sd2')?.pipelineClasses).toEqual(['StableDiffusionPipeline']);
    expect(familyOfLoraArchitecture('flux')).toBeUndefined();
  });

  it('finds speed presets only within a family when the family is known', () => {
    expect(speedPresetFor('lcm-lora-sdxl.safetensors')?.sampler.name).toBe('lcm');
    // "Turbo" in a file name is a Qwen-Image Turbo LoRA only among Qwen-Image LoRAs.
    expect(speedPresetFor('sdxl-turbo-style.safetensors', 'sdxl-turbo')).toBeUndefined();
    expect(new Set(SPEED_PRESETS.map((p) => p.id)).size).toBe(SPEED_PRESETS.length);
  });

  it("names each family's default sampler as A1111 does", () => {
    expect(a1111Sampler(FAMILIES['sdxl-turbo'].defaultSampler)).toEqual({ sampler: 'Euler a', schedule: 'SGM Uniform' });
    expect(a1111Sampler(FAMILIES['sd-turbo'].defaultSampler)).toEqual({ sampler: 'Euler', schedule: 'SGM Uniform' });
    expect(a1111Sampler(FAMILIES['qwen-image'].defaultSampler).sampler).toBe('Euler');
  });
});
