// Converts decoder output (planar float, NCHW) into interleaved 8-bit RGB.

/**
 * The input is in [0, 1] (the pipeline has already mapped the VAE's [-1, 1] output).
 * NaN becomes 0 here, but callers check for NaN first: a silent black image is the failure users hate most.
 */
export function floatImageToRgb(planar: Float32Array, width: number, height: number): Uint8Array {
  const plane = width * height;
  if (planar.length !== plane * 3) throw new Error(`expected ${plane * 3} values for ${width}x${height} RGB, got ${planar.length}`);
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      const v = planar[c * plane + i]!;
      out[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v || 0)) * 255);
    }
  }
  return out;
}

export function countNonFinite(values: Float32Array): number {
  let n = 0;
  for (const v of values) if (!Number.isFinite(v)) n++;
  return n;
}
