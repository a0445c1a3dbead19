// Rotary position tables for Qwen-Image, computed in float32 as the reference does.

const f32 = Math.fround;

/** Angles position * theta^(-2k/dim) for k < dim/2, rounded like torch's float32 outer product. */
function angles(position: number, dim: number, theta: number, out: number[]): void {
  for (let k = 0; k < dim; k += 2) {
    const inv = f32(1 / f32(Math.pow(theta, f32(k / dim))));
    out.push(f32(position * inv));
  }
}

export interface RopeTable {
  /** [rows, dim/2] cosines and sines, row-major. */
  readonly cos: Float32Array;
  readonly sin: Float32Array;
  readonly rows: number;
  readonly half: number;
}

function table(rows: number[][]): RopeTable {
  const half = rows[0]?.length ?? 0;
  const cos = new Float32Array(rows.length * half);
  const sin = new Float32Array(rows.length * half);
  rows.forEach((r, i) =>
    r.forEach((a, j) => {
      cos[i * half + j] = Math.cos(a);
      sin[i * half + j] = Math.sin(a);
    }),
  );
  return { cos, sin, rows: rows.length, half };
}

/** Centred positions of `n` patches: -(n - floor(n/2)) ... floor(n/2) - 1. */
export function centredPositions(n: number): number[] {
  const start = -(n - Math.floor(n / 2));
  return Array.from({ length: n }, (_, i) => start + i);
}

/**
 * The diffusion transformer's 3-axis RoPE (frame, height, width sections of the head dim, theta 10000):
 * image tokens in row-major patch order, then text positions continuing after the image's extent.
 */
export function transformerRope(
  axesDims: readonly [number, number, number],
  gridH: number,
  gridW: number,
  textLength: number,
  theta = 10000,
): { image: RopeTable; text: RopeTable } {
  const [df, dh, dw] = axesDims;
  const hs = centredPositions(gridH);
  const ws = centredPositions(gridW);
  const image: number[][] = [];
  for (const y of hs) {
    for (const x of ws) {
      const row: number[] = [];
      angles(0, df, theta, row);
      angles(y, dh, theta, row);
      angles(x, dw, theta, row);
      image.push(row);
    }
  }
  const start = Math.max(Math.floor(gridH / 2), Math.floor(gridW / 2));
  const text: number[][] = [];
  for (let p = start; p < start + textLength; p++) {
    const row: number[] = [];
    angles(p, df, theta, row);
    angles(p, dh, theta, row);
    angles(p, dw, theta, row);
    text.push(row);
  }
  return { image: table(image), text: table(text) };
}

/** Standard 1-D RoPE for the text encoder (rotate-half layout): [positions, dim/2]. */
export function textRope(positions: readonly number[], headDim: number, theta: number): RopeTable {
  return table(
    positions.map((p) => {
      const row: number[] = [];
      angles(p, headDim, theta, row);
      return row;
    }),
  );
}
