// The current generation as the UI shows it, folded from job events by one reducer.

import type { GenerationSummary, JobEvent } from '../../shared/contract.js';
import type { JobProgress } from '../../shared/progress.js';
import type { SerializedError } from '../../shared/result.js';

export type JobView =
  | { readonly status: 'idle' }
  | { readonly status: 'running'; readonly jobId: string; readonly progress: JobProgress }
  | { readonly status: 'succeeded'; readonly jobId: string; readonly generation: GenerationSummary }
  | { readonly status: 'failed'; readonly jobId: string | undefined; readonly error: SerializedError }
  | { readonly status: 'cancelled'; readonly jobId: string };

export const idleJob: JobView = { status: 'idle' };

/** Only events of the job the UI started are applied; others (another window's) are ignored. */
export function reduceJob(state: JobView, e: JobEvent): JobView {
  if (state.status === 'idle' || state.jobId !== e.jobId) return state;
  switch (e.type) {
    case 'queued':
      return { status: 'running', jobId: e.jobId, progress: { phase: 'queued', step: 0, totalSteps: e.request.steps } };
    case 'progress':
      // A note (a cache being made, an out-of-memory fallback) stays on screen until the next one.
      return state.status === 'running' ? { ...state, progress: { ...e.progress, ...(e.progress.note || state.progress.note ? { note: e.progress.note ?? state.progress.note! } : {}) } } : state;
    case 'succeeded':
      return { status: 'succeeded', jobId: e.jobId, generation: e.generation };
    case 'failed':
      return { status: 'failed', jobId: e.jobId, error: e.error };
    case 'cancelled':
      return { status: 'cancelled', jobId: e.jobId };
    case 'delivered':
      // Only A1111 API jobs end this way; the UI never starts one.
      return state;
  }
}
