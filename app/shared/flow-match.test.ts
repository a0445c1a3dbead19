import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIGHTNING_SAMPLER, QWEN_IMAGE_DEFAULT_SAMPLER, flowMatchSchedule } from './flow-match.js';

interface FixtureCase {
  config: 'qwen_image_default' | 'qwen_image_lightning';
  height: number;
  width: number;
  steps: number;
  image_seq_len: number;
  mu: number;
  sigmas: (number | null)[];
  timesteps: (number | null)[];
  has_nan?: boolean;
}

const fixture = JSON.parse(readFileSync(new URL('../../test-fixtures/qwen-image/scheduler/schedules.json', import.meta.url), 'utf8')) as {
  schedules: FixtureCase[];
};
const configs = { qwen_image_default: QWEN_IMAGE_DEFAULT_SAMPLER, qwen_image_lightning: LIGHTNING_SAMPLER };

describe('flowMatchSchedule', () => {
  const cases = fixture.schedules.filter((c) => !c.has_nan);
  it('covers the reference cases', () => expect(cases.length).toBeGreaterThan(50));

  it.each(cases.map((c) => [`${c.config} ${c.steps} steps ${c.width}x${c.height}`, c] as const))('matches diffusers: %s', (_, c) => {
    const s = flowMatchSchedule(c.steps, c.width, c.height, configs[c.config]);
    expect(s.imageSeqLen).toBe(c.image_seq_len);
    expect(s.mu).toBeCloseTo(c.mu, 12);
    expect(s.sigmas).toHaveLength(c.sigmas.length);
    s.sigmas.forEach((v, i) => expect(Math.abs(v - (c.sigmas[i] as number))).toBeLessThanOrEqual(1e-6));
    s.timesteps.forEach((v, i) => expect(Math.abs(v - (c.timesteps[i] as number))).toBeLessThanOrEqual(1e-3));
  });

  it('publishes the Lightning 4-step sigmas 1, 0.9, 0.75, 0.5, 0 at 1024x1024', () => {
    const s = flowMatchSchedule(4, 1024, 1024, LIGHTNING_SAMPLER);
    [1, 0.9, 0.75, 0.5, 0].forEach((v, i) => expect(s.sigmas[i]).toBeCloseTo(v, 6));
  });

  it('keeps one step finite where the reference divides 0 by 0', () => {
    expect(fixture.schedules.some((c) => c.has_nan && c.steps === 1)).toBe(true);
    const s = flowMatchSchedule(1, 1024, 1024, QWEN_IMAGE_DEFAULT_SAMPLER);
    expect(s.sigmas.every(Number.isFinite)).toBe(true);
    expect(s.sigmas.at(-1)).toBe(0);
  });

  it('refuses a non-positive step count', () => {
    expect(() => flowMatchSchedule(0, 512, 512, LIGHTNING_SAMPLER)).toThrow(/positive integer/);
  });
});
