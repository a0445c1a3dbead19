// Latent layout helpers: 2x2 patch packing (token values ordered channel-major: c*4 + dy*2 + dx)
// and the VAE's per-channel de-normalisation.

/** Visits [channels, h, w] positions in packed order: patches row-major, then c, dy, dx. */
function forEachPacked(channels: number, h: number, w: number, visit: (packed: number, unpacked: number) => void): void {
  let o = 0;
  for (let py = 0; py < h / 2; py++) {
    for (let px = 0; px < w / 2; px++) {
      for (let c = 0; c < channels; c++) {
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) visit(o++, c * h * w + (2 * py + dy) * w + 2 * px + dx);
        }
      }
    }
  }
}

export function packLatents(z: Float32Array, channels: number, h: number, w: number): Float32Array {
  const out = new Float32Array(z.length);
  forEachPacked(channels, h, w, (p, u) => (out[p] = z[u]!));
  return out;
}

export function unpackLatents(packed: Float32Array, channels: number, h: number, w: number): Float32Array {
  const out = new Float32Array(packed.length);
  forEachPacked(channels, h, w, (p, u) => (out[u] = packed[p]!));
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
