// Decoding a large latent in overlapping tiles, so the VAE's activations are bounded by the tile, not the
// image. Tiles are blended with linear ramps across their overlap; the seams are not bit-identical to a
// whole decode (the convolutions and the mid-block attention see less context), which is why a plan only
// tiles above the size where a whole decode would not fit.

export interface TileGrid {
  /** Tile size and overlap, in latent pixels. */
  readonly tile: number;
  readonly overlap: number;
}

/** 256-pixel tiles overlapping by 64 pixels, as diffusers' tiled decoding of this VAE. */
export const DEFAULT_TILES: TileGrid = { tile: 32, overlap: 8 };

/** Start offsets covering `length` with tiles of `tile` stepping by tile - overlap; the last one flush with the end. */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const stride = tile - overlap;
  if (stride <= 0) throw new RangeError(`tile ${tile} must be larger than its overlap ${overlap}`);
  const starts: number[] = [];
  for (let s = 0; s + tile < length; s += stride) starts.push(s);
  starts.push(length - tile);
  return starts;
}

/** Weight of position i in a tile of `size` that overlaps neighbours before (from `lead`) and after (from `trail`). */
function ramp(i: number, size: number, lead: number, trail: number): number {
  let w = 1;
  if (lead > 0 && i < lead) w = Math.min(w, (i + 0.5) / lead);
  if (trail > 0 && i >= size - trail) w = Math.min(w, (size - i - 0.5) / trail);
  return w;
}

/**
 * Decodes z [channels, h, w] (batch 1) tile by tile with `decode` and blends the results into
 * [outChannels, h*scale, w*scale].
 */
export async function decodeTiled(
  z: Float32Array,
  channels: number,
  h: number,
  w: number,
  scale: number,
  outChannels: number,
  grid: TileGrid,
  decode: (tile: Float32Array, th: number, tw: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const H = h * scale;
  const W = w * scale;
  const acc = new Float32Array(outChannels * H * W);
  const weight = new Float32Array(H * W);
  const ys = tileStarts(h, grid.tile, grid.overlap);
  const xs = tileStarts(w, grid.tile, grid.overlap);
  for (const [yi, y0] of ys.entries()) {
    for (const [xi, x0] of xs.entries()) {
      const th = Math.min(grid.tile, h);
      const tw = Math.min(grid.tile, w);
      const tile = new Float32Array(channels * th * tw);
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < th; y++) tile.set(z.subarray((c * h + y0 + y) * w + x0, (c * h + y0 + y) * w + x0 + tw), (c * th + y) * tw);
      }
      const out = await decode(tile, th, tw);
      // Overlaps with the neighbours actually present, in output pixels.
      const lead = (prev: number | undefined, at: number) => (prev === undefined ? 0 : (prev + grid.tile - at) * scale);
      const top = lead(ys[yi - 1], y0);
      const left = lead(xs[xi - 1], x0);
      const bottom = ys[yi + 1] === undefined ? 0 : (y0 + th - ys[yi + 1]!) * scale;
      const right = xs[xi + 1] === undefined ? 0 : (x0 + tw - xs[xi + 1]!) * scale;
      const OH = th * scale;
      const OW = tw * scale;
      for (let y = 0; y < OH; y++) {
        const wy = ramp(y, OH, top, bottom);
        for (let x = 0; x < OW; x++) {
          const wt = wy * ramp(x, OW, left, right);
          const at = (y0 * scale + y) * W + x0 * scale + x;
          weight[at]! += wt;
          for (let c = 0; c < outChannels; c++) acc[c * H * W + at]! += wt * out[(c * OH + y) * OW + x]!;
        }
      }
    }
  }
  for (let c = 0; c < outChannels; c++) for (let i = 0; i < H * W; i++) acc[c * H * W + i]! /= weight[i]!;
  return acc;
}
