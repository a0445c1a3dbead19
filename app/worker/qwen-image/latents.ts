// Latent layout helpers: 2x2 patch packing (token values ordered channel-major: c*4 + dy*2 + dx)
// and the VAE's per-channel de-normalisation.

export function packLatents(z: Float32Array, channels: number, h: number, w: number): Float32Array {
  const out = new Float32Array(z.length);
  const gw = w / 2;
  let o = 0;
  for (let py = 0; py < h / 2; py++) {
    for (let px = 0; px < gw; px++) {
      for (let c = 0; c < channels; c++) {
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) out[o++] = z[c * h * w + (2 * py + dy) * w + 2 * px + dx]!;
        }
      }
    }
  }
  return out;
}

export function unpackLatents(packed: Float32Array, channels: number, h: number, w: number): Float32Array {
  const out = new Float32Array(packed.length);
  const gw = w / 2;
  let o = 0;
  for (let py = 0; py < h / 2; py++) {
    for (let px = 0; px < gw; px++) {
      for (let c = 0; c < channels; c++) {
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) out[c * h * w + (2 * py + dy) * w + 2 * px + dx] = packed[o++]!;
        }
      }
    }
  }
  return out;
}

/** z = latents * std + mean, per channel of an unpacked [channels, h, w] tensor. */
export function denormalizeLatents(z: Float32Array, mean: readonly number[], std: readonly number[], plane: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const c = Math.floor(i / plane) % mean.length;
    out[i] = Math.fround(z[i]! * std[c]!) + mean[c]!;
  }
  return out;
}

/** True CFG as the Qwen-Image pipeline does it: combine, then rescale each token to the conditional norm. */
export function trueCfg(cond: Float32Array, uncond: Float32Array, scale: number, channels: number): Float32Array {
  const out = new Float32Array(cond.length);
  for (let t = 0; t < cond.length; t += channels) {
    let condNorm = 0;
    let outNorm = 0;
    for (let c = 0; c < channels; c++) {
      const v = uncond[t + c]! + scale * (cond[t + c]! - uncond[t + c]!);
      out[t + c] = v;
      condNorm += cond[t + c]! ** 2;
      outNorm += v * v;
    }
    const k = Math.sqrt(condNorm) / Math.sqrt(outNorm);
    for (let c = 0; c < channels; c++) out[t + c] = out[t + c]! * k;
  }
  return out;
}
