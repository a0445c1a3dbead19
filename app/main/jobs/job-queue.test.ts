import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../shared/contract.js';
import type { GenerationRecord, ResolvedRequest } from '../../shared/generation.js';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import { JobQueue, type Job } from './job-queue.js';

const request = { prompt: 'p', seed: 1 } as unknown as ResolvedRequest;

/** A runner whose jobs end when the test says so, recording how many ran at once. */
function controlledRunner() {
  const waiting = new Map<string, { resolve: (r: GenerationRecord) => void; reject: (e: unknown) => void }>();
  let running = 0;
  let maxRunning = 0;
  const order: string[] = [];
  const run = (job: Job<null>) => {
    order.push(job.jobId);
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<GenerationRecord>((resolve, reject) => waiting.set(job.jobId, { resolve, reject })).finally(() => running--);
  };
  const finish = async (jobId: string, outcome: unknown = 'ok') => {
    await new Promise((r) => setImmediate(r));
    const w = waiting.get(jobId)!;
    if (outcome === 'ok') w.resolve({ id: jobId } as GenerationRecord);
    else w.reject(outcome);
    await new Promise((r) => setImmediate(r));
  };
  return { run, finish, order, get maxRunning() { return maxRunning; } };
}

function queueWith(r: ReturnType<typeof controlledRunner>, cancelled: string[] = []) {
  const q = new JobQueue<null>({ run: r.run, cancelRunning: (id) => cancelled.push(id), succeeded: (rec) => ({ type: 'succeeded', jobId: rec.id, generation: {} as never }) });
  const events: string[] = [];
  q.onEvent((e: JobEvent) => events.push(`${e.type}:${e.jobId}`));
  return { q, events };
}

describe('JobQueue', () => {
  it('runs jobs in order, one at a time, and announces each change', async () => {
    const r = controlledRunner();
    const { q, events } = queueWith(r);
    const a = q.enqueue({ jobId: 'a', request, work: null });
    const b = q.enqueue({ jobId: 'b', request, work: null });
    expect(q.jobs().map((j) => `${j.jobId}:${j.running}`)).toEqual(['a:true', 'b:false']);
    await r.finish('a');
    await r.finish('b', new StudioError('inference-failed', notice('error.internal', { message: 'broken' })));
    await expect(a).resolves.toMatchObject({ id: 'a' });
    await expect(b).rejects.toMatchObject({ code: 'inference-failed' });
    expect(r.order).toEqual(['a', 'b']);
    expect(r.maxRunning).toBe(1);
    expect(events).toEqual(['queued:a', 'queued:b', 'succeeded:a', 'failed:b']);
  });

  it('cancels a waiting job at once and asks the running one to stop', async () => {
    const r = controlledRunner();
    const stopRequests: string[] = [];
    const { q, events } = queueWith(r, stopRequests);
    const a = q.enqueue({ jobId: 'a', request, work: null });
    const b = q.enqueue({ jobId: 'b', request, work: null });
    expect(q.cancel('b')).toBe(true);
    await expect(b).rejects.toMatchObject({ code: 'cancelled' });
    expect(q.cancel('a')).toBe(true);
    expect(stopRequests).toEqual(['a']);
    await r.finish('a', new StudioError('cancelled', notice('error.cancelled')));
    await expect(a).rejects.toMatchObject({ code: 'cancelled' });
    expect(q.cancel('a')).toBe(false);
    expect(r.order).toEqual(['a']);
    expect(events).toEqual(['queued:a', 'queued:b', 'cancelled:b', 'cancelled:a']);
  });

  it('reports a bug in the runner as an internal failure and keeps serving', async () => {
    const r = controlledRunner();
    const { q, events } = queueWith(r);
    const a = q.enqueue({ jobId: 'a', request, work: null });
    await r.finish('a', new TypeError('undefined is not a function'));
    await expect(a).rejects.toMatchObject({ code: 'internal', notice: { key: 'error.internal', params: { message: 'undefined is not a function' } } });
    const b = q.enqueue({ jobId: 'b', request, work: null });
    await r.finish('b');
    await expect(b).resolves.toMatchObject({ id: 'b' });
    expect(events).toEqual(['queued:a', 'failed:a', 'queued:b', 'succeeded:b']);
  });

  it('on close, cancels waiting jobs and refuses new ones', async () => {
    const r = controlledRunner();
    const { q } = queueWith(r);
    const a = q.enqueue({ jobId: 'a', request, work: null });
    const b = q.enqueue({ jobId: 'b', request, work: null });
    q.close();
    await expect(b).rejects.toMatchObject({ code: 'cancelled', notice: { key: 'error.shuttingDown' } });
    await expect(q.enqueue({ jobId: 'c', request, work: null })).rejects.toMatchObject({ code: 'worker-unavailable' });
    // The running job is the worker's to end (its shutdown cancels it); the queue does not drop its result.
    await r.finish('a');
    await expect(a).resolves.toMatchObject({ id: 'a' });
  });
});
