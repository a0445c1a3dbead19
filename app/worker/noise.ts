// Seeded Gaussian noise for the initial latents: the same seed gives the same noise on every machine.
//
// Generator: xoshiro128** (Blackman & Vigna) with its 128-bit state filled by splitmix32 from the 32-bit
// seed; each pair of uniforms becomes two normals by the Box-Muller transform, rounded to float32.
// Only integer arithmetic and V8's fdlibm-based Math.log/sin/cos are involved, so the values do not
// depend on the CPU, the GPU or the execution provider. (This is not PyTorch's generator: a seed here
// does not reproduce a seed in diffusers, and is not meant to.)

function splitmix32(seed: number): () => number {
  // `>>> 0` would quietly turn 2^32 into seed 0: a seed outside uint32 is a bug upstream, said out loud.
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`seed ${seed} is not a whole number from 0 to 4294967295`);
  let state = seed;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A xoshiro128** stream of uint32 values. */
export function xoshiro128(seed: number): () => number {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d >>> 0, 11);
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    return result;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A seeded stream of standard-normal float32 draws. The first draw of `count` values is exactly
 * gaussianNoise(seed, count); later draws continue the same generator, which is how samplers that add
 * noise at every step (Euler ancestral, LCM) stay reproducible from the one seed.
 */
export class NoiseStream {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = xoshiro128(seed);
  }

  draw(count: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      // (n + 1) / 2^32 lies in (0, 1], so the logarithm is finite.
      const u1 = (this.next() + 1) / 4294967296;
      const u2 = this.next() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }
}

/** `count` standard-normal float32 values for `seed`. */
export function gaussianNoise(seed: number, count: number): Float32Array {
  return new NoiseStream(seed).draw(count);
}
