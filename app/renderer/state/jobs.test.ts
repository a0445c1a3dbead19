import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../shared/contract.js';
import type { ResolvedRequest } from '../../shared/generation.js';
import { estimate, reduceJobs, started, timingsOf, type Jobs } from './jobs.js';

const request = { prompt: 'a', negativePrompt: '', steps: 4, guidance: 1, width: 512, height: 512, modelId: 'demo', format: 'png', loras: [], seed: 1 } as ResolvedRequest;
const progress = (phase: 'loading' | 'encoding' | 'denoising' | 'decoding' | 'saving', step = 0): JobEvent => ({ type: 'progress', jobId: 'j', progress: { phase, step, totalSteps: 4, ...(phase === 'denoising' ? { preview: `data:${step}` } : {}) } });

function run(events: [number, JobEvent][]): Jobs {
  let jobs = started({}, 'j', request, 0);
  for (const [t, e] of events) jobs = reduceJobs(jobs, e, t);
  return jobs;
}

describe('job views', () => {
  it('times each phase and step, keeps the latest preview, and ends with the image', () => {
    const jobs = run([
      [0, progress('loading')],
      [1000, progress('encoding')],
      [1200, progress('denoising', 0)],
      [1700, progress('denoising', 1)],
      [2200, progress('denoising', 2)],
      [2700, progress('denoising', 3)],
      [3200, progress('denoising', 4)],
      [3200, progress('decoding')],
      [5200, progress('saving')],
      [5500, { type: 'succeeded', jobId: 'j', generation: { id: 'g' } as never }],
    ]);
    const j = jobs.j!;
    expect(j.status).toBe('succeeded');
    expect(j.preview).toBe('data:4');
    expect(timingsOf(j)).toEqual({ loadingMs: 1000, encodingMs: 200, stepMs: 500, decodingMs: 2000, savingMs: 300, pixels: 512 * 512 });
  });

  it('weighs the progress bar by how long each phase took last time, and says the time left', () => {
    const last = { loadingMs: 0, encodingMs: 100, stepMs: 500, decodingMs: 1900, savingMs: 0, pixels: 512 * 512 };
    const at = (events: [number, JobEvent][], now: number) => estimate(run(events).j!, now, last);
    const midSteps = at([[0, progress('encoding')], [100, progress('denoising', 0)], [600, progress('denoising', 1)], [1100, progress('denoising', 2)]], 1100);
    // 100 ms encoding + 2 of 4 steps of 500 ms, out of 100 + 2000 + 1900: a quarter, not half.
    expect(midSteps.fraction).toBeCloseTo(1100 / 4000, 2);
    expect(midSteps.secondsLeft).toBeCloseTo(2.9, 1);
    const decoding = at([[0, progress('encoding')], [100, progress('denoising', 0)], [2100, progress('denoising', 4)], [2100, progress('decoding')]], 2100);
    expect(decoding.fraction).toBeCloseTo(2100 / 4000, 2);
    // Never full before the image is saved.
    expect(at([[0, progress('decoding')]], 100_000).fraction).toBeLessThan(1);
    expect(estimate(run([[0, progress('loading')]]).j!, 10).secondsLeft).toBeUndefined();
  });
});
