import { describe, expect, it } from 'vitest';
import { UnetModel } from './unet-model.js';
import { loadSdLora, sgmModuleName } from './sd-lora.js';

const fixtures = new URL('../../../test-fixtures/', import.meta.url).pathname;

describe('SD LoRA key maps', () => {
  it('maps diffusers UNet modules to the SGM paths kohya writes, for resnets, attentions and resamplers', async () => {
    const cfg = await UnetModel.readConfig(`${fixtures}sdxl/unet`);
    expect(sgmModuleName('down_blocks.1.attentions.0.proj_in', cfg)).toBe('input_blocks.4.1.proj_in');
    expect(sgmModuleName('down_blocks.0.resnets.1.conv1', cfg)).toBe('input_blocks.2.0.in_layers.2');
    expect(sgmModuleName('down_blocks.0.downsamplers.0.conv', cfg)).toBe('input_blocks.3.0.op');
    expect(sgmModuleName('mid_block.resnets.1.time_emb_proj', cfg)).toBe('middle_block.2.emb_layers.1');
    expect(sgmModuleName('up_blocks.0.attentions.2.transformer_blocks.1.attn2.to_k', cfg)).toBe('output_blocks.2.1.transformer_blocks.1.attn2.to_k');
    expect(sgmModuleName('up_blocks.0.upsamplers.0.conv', cfg)).toBe('output_blocks.2.2.conv');
    expect(sgmModuleName('up_blocks.2.resnets.0.conv_shortcut', cfg)).toBe('output_blocks.6.0.skip_connection');
  });

  it('refuses a LoRA made for another family, naming the file and keys, and applies nothing', async () => {
    const dir = `${fixtures}sdxl/unet`;
    const unet = await UnetModel.openWeights(dir, fixtures);
    const unetConfig = await UnetModel.readConfig(dir);
    const qwenLora = `${fixtures}qwen-image/lora/lora_lightx2v_format.safetensors`;
    await expect(loadSdLora(qwenLora, { unet, unetConfig })).rejects.toThrow(/The LoRA lora_lightx2v_format\.safetensors does not fit the loaded model: \d+ of its \d+ tensors match no layer \(transformer_blocks\./);
  });
});
