import { describe, expect, it } from 'vitest';
import { latentPreview, SDXL_RGB, WAN21_RGB } from './latent-preview.js';

const byte = (v: number) => Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);

describe('latent previews', () => {
  it('projects each latent cell through the family\'s factors and bias', () => {
    // Channel 2 at 1.0 in the left column, channel 6 at 1.0 in the right one.
    const h = 2;
    const w = 2;
    const latents = new Float32Array(16 * h * w);
    latents[2 * 4 + 0] = 1;
    latents[2 * 4 + 2] = 1;
    latents[6 * 4 + 1] = 1;
    latents[6 * 4 + 3] = 1;
    const p = latentPreview(latents, 16, h, w, WAN21_RGB);
    expect([p.width, p.height]).toEqual([2, 2]);
    const left = WAN21_RGB.factors[2]!.map((f, i) => byte(f + WAN21_RGB.bias[i]!));
    const right = WAN21_RGB.factors[6]!.map((f, i) => byte(f + WAN21_RGB.bias[i]!));
    expect([...p.rgb]).toEqual([...left, ...right, ...left, ...right]);
  });

  it('averages cells down to at most 128 pixels a side, keeping the aspect ratio', () => {
    const p = latentPreview(new Float32Array(4 * 208 * 116), 4, 208, 116, SDXL_RGB);
    expect([p.width, p.height]).toEqual([58, 104]);
    expect(p.rgb.length).toBe(58 * 104 * 3);
    expect(p.rgb[0]).toBe(byte(SDXL_RGB.bias[0]));
  });

  it('refuses latents of another channel count than its factors', () => {
    expect(() => latentPreview(new Float32Array(4 * 4), 4, 2, 2, WAN21_RGB)).toThrow(/16-channel projection cannot preview 4-channel/);
  });
});
