import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseUnetConfig } from './unet-config.js';

const file = new URL('../../../test-fixtures/sdxl/unet/config.json', import.meta.url).pathname;
const sdxl = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('UNet config', () => {
  it('reads the SDXL layout: heads from attention_head_dim, text_time conditioning, reversed up blocks', () => {
    const cfg = parseUnetConfig(sdxl, file);
    expect(cfg.down.map((b) => [b.cross, b.heads, b.transformerLayers])).toEqual([[false, 1, 1], [true, 2, 1], [true, 2, 2]]);
    expect(cfg.up.map((b) => [b.cross, b.out, b.resnets, b.transformerLayers])).toEqual([[true, 32, 3, 2], [true, 32, 3, 1], [false, 16, 3, 1]]);
    expect(cfg.addTime).toEqual({ timeDim: 8, inputDim: 96, textEmbedDim: 48 });
  });

  it.each([
    ['addition_embed_type', 'image', /addition_embed_type "image" is not supported/],
    ['down_block_types', ['SimpleCrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'], /down_block_types .* is not supported/],
    ['resnet_time_scale_shift', 'scale_shift', /resnet_time_scale_shift "scale_shift" is not supported/],
    ['block_out_channels', [16, 32], /block_out_channels must be 3 positive whole numbers/],
  ])('refuses %s = %j, naming the file', (field, value, message) => {
    expect(() => parseUnetConfig({ ...sdxl, [field]: value }, file)).toThrow(message);
    expect(() => parseUnetConfig({ ...sdxl, [field]: value }, file)).toThrow(/unet\/config\.json/);
  });
});
