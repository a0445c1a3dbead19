import { describe, expect, it } from 'vitest';
import { gaussianNoise, NoiseStream, xoshiro128 } from './noise.js';

describe('gaussianNoise', () => {
  it('is the same for the same seed and differs between seeds', () => {
    expect(gaussianNoise(7, 1001)).toEqual(gaussianNoise(7, 1001));
    expect(gaussianNoise(7, 16)).not.toEqual(gaussianNoise(8, 16));
  });

  it('pins the stream so a change to the generator cannot go unnoticed (it would change every saved seed)', () => {
    const next = xoshiro128(0);
    expect([next(), next(), next()]).toEqual([3809008728, 1133695204, 53579671]);
    expect(Array.from(gaussianNoise(42, 4), (v) => v.toFixed(6))).toEqual(['0.636230', '0.651442', '0.830802', '-1.921877']);
  });

  it('is standard normal', () => {
    const v = gaussianNoise(123, 200_000);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    expect(v.every(Number.isFinite)).toBe(true);
  });

  it('a stream starts with gaussianNoise of the same seed and continues with fresh draws', () => {
    const stream = new NoiseStream(42);
    const first = stream.draw(5);
    const second = stream.draw(4);
    expect(first).toEqual(gaussianNoise(42, 5));
    expect(second).not.toEqual(gaussianNoise(42, 4));
    expect(new NoiseStream(42).draw(5)).toEqual(first);
  });

  it('refuses a seed outside 0..2^32-1 instead of wrapping it into another seed', () => {
    for (const seed of [2 ** 32, -1, 1.5, Number.NaN]) expect(() => gaussianNoise(seed, 4)).toThrow(/is not a whole number from 0 to 4294967295/);
    expect(gaussianNoise(2 ** 32 - 1, 4)).toHaveLength(4);
  });
});
