// A live preview of an image being denoised: the latents projected straight to RGB with a per-family
// 3-by-C matrix (the factors ComfyUI fitted for its latent previews), no VAE, a few microseconds a pixel.
// Coarse and a little off in colour, but it shows the composition forming at every step.

/** How one family's latent channels map to RGB: rgb = latent · factors + bias, then [-1, 1] to [0, 255]. */
export interface LatentRgb {
  /** One row per latent channel: its R, G and B weights. */
  readonly factors: readonly (readonly [number, number, number])[];
  readonly bias: readonly [number, number, number];
}

/** Qwen-Image decodes with the Wan 2.1 VAE: 16 channels, normalised by latents_mean and latents_std. */
export const WAN21_RGB: LatentRgb = {
  factors: [
    [-0.1299, -0.1692, 0.2932],
    [0.0671, 0.0406, 0.0442],
    [0.3568, 0.2548, 0.1747],
    [0.0372, 0.2344, 0.142],
    [0.0313, 0.0189, -0.0328],
    [0.0296, -0.0956, -0.0665],
    [-0.3477, -0.4059, -0.2925],
    [0.0166, 0.1902, 0.1975],
    [-0.0412, 0.0267, -0.1364],
    [-0.1293, 0.074, 0.1636],
    [0.068, 0.3019, 0.1128],
    [0.0032, 0.0581, 0.0639],
    [-0.1251, 0.0927, 0.1699],
    [0.006, -0.0633, 0.0005],
    [0.3477, 0.2275, 0.295],
    [0.1984, 0.0913, 0.1861],
  ],
  bias: [-0.1835, -0.0868, -0.336],
};

/** Stable Diffusion 1.x/2.x latents (4 channels, scaled by 0.18215). */
export const SD15_RGB: LatentRgb = {
  factors: [
    [0.3512, 0.2297, 0.3227],
    [0.325, 0.4974, 0.235],
    [-0.2829, 0.1762, 0.2721],
    [-0.212, -0.2616, -0.7177],
  ],
  bias: [0, 0, 0],
};

/** SDXL latents (4 channels, scaled by 0.13025). */
export const SDXL_RGB: LatentRgb = {
  factors: [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
  ],
  bias: [0.1084, -0.0175, -0.0011],
};

export interface PreviewImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB, 3 bytes a pixel. */
  readonly rgb: Uint8Array;
}

/** The longest side of a preview: small enough to cross to the renderer at every step. */
export const PREVIEW_MAX_SIDE = 128;

/**
 * Projects planar latents [C, H, W] to an RGB image whose longest side is at most `maxSide` (each output
 * pixel averages the latent cells it covers, so a large image is not aliased into noise).
 */
export function latentPreview(latents: Float32Array, channels: number, h: number, w: number, format: LatentRgb, maxSide = PREVIEW_MAX_SIDE): PreviewImage {
  if (format.factors.length !== channels) throw new Error(`a ${format.factors.length}-channel projection cannot preview ${channels}-channel latents`);
  if (latents.length !== channels * h * w) throw new Error(`expected ${channels * h * w} latent values, got ${latents.length}`);
  const step = Math.max(1, Math.ceil(Math.max(h, w) / maxSide));
  const oh = Math.ceil(h / step);
  const ow = Math.ceil(w / step);
  const rgb = new Uint8Array(oh * ow * 3);
  const plane = h * w;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let y = oy * step; y < Math.min(h, (oy + 1) * step); y++) {
        for (let x = ox * step; x < Math.min(w, (ox + 1) * step); x++) {
          const at = y * w + x;
          for (let c = 0; c < channels; c++) {
            const v = latents[c * plane + at]!;
            const f = format.factors[c]!;
            r += v * f[0];
            g += v * f[1];
            b += v * f[2];
          }
          n++;
        }
      }
      const o = (oy * ow + ox) * 3;
      rgb[o] = toByte(r / n + format.bias[0]);
      rgb[o + 1] = toByte(g / n + format.bias[1]);
      rgb[o + 2] = toByte(b / n + format.bias[2]);
    }
  }
  return { width: ow, height: oh, rgb };
}

function toByte(v: number): number {
  return Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);
}
