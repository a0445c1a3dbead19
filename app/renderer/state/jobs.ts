// Every job the window started, folded from job events by one reducer, and how far along each one is:
// a progress fraction weighted by how long each phase took last time, and the time left.

import type { GenerationSummary, JobEvent } from '../../shared/contract.js';
import type { ResolvedRequest } from '../../shared/generation.js';
import type { Notice } from '../../shared/notices.js';
import type { JobPhase } from '../../shared/progress.js';
import type { SerializedError } from '../../shared/result.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobView {
  readonly jobId: string;
  readonly request?: ResolvedRequest;
  readonly status: JobStatus;
  readonly phase: JobPhase;
  readonly step: number;
  readonly totalSteps: number;
  /** A cache being made, a plan that ran out of memory: stays until the next note. */
  readonly note?: Notice;
  /** The latest step preview (a data URL). */
  readonly preview?: string;
  readonly generation?: GenerationSummary;
  readonly error?: SerializedError;
  /** When the current phase began (ms, the window's clock), and how long each finished phase took. */
  readonly phaseStartedAt: number;
  readonly phaseMs: Readonly<Partial<Record<JobPhase, number>>>;
  /** Time of each finished denoising step, to time the next ones. */
  readonly stepMs: readonly number[];
  readonly stepAt: number;
}

export type Jobs = Readonly<Record<string, JobView>>;

function fresh(jobId: string, now: number, request?: ResolvedRequest): JobView {
  return { jobId, ...(request ? { request } : {}), status: 'queued', phase: 'queued', step: 0, totalSteps: request?.steps ?? 0, phaseStartedAt: now, phaseMs: {}, stepMs: [], stepAt: now };
}

/** A job the window asked for: known before its first event arrives. */
export function started(jobs: Jobs, jobId: string, request: ResolvedRequest, now: number): Jobs {
  return jobs[jobId] ? jobs : { ...jobs, [jobId]: fresh(jobId, now, request) };
}

export function reduceJobs(jobs: Jobs, e: JobEvent, now: number): Jobs {
  const before = jobs[e.jobId] ?? fresh(e.jobId, now, e.type === 'queued' ? e.request : undefined);
  const next = reduceJob(before, e, now);
  return next === before && jobs[e.jobId] ? jobs : { ...jobs, [e.jobId]: next };
}

function reduceJob(j: JobView, e: JobEvent, now: number): JobView {
  switch (e.type) {
    case 'queued':
      return { ...j, request: e.request, totalSteps: e.request.steps };
    case 'progress': {
      const p = e.progress;
      const phaseChanged = p.phase !== j.phase;
      const phaseMs = phaseChanged ? { ...j.phaseMs, [j.phase]: (j.phaseMs[j.phase] ?? 0) + (now - j.phaseStartedAt) } : j.phaseMs;
      const newStep = p.phase === 'denoising' && p.step > j.step;
      return {
        ...j,
        status: 'running',
        phase: p.phase,
        step: p.step,
        totalSteps: p.totalSteps || j.totalSteps,
        ...(p.note ? { note: p.note } : {}),
        ...(p.preview ? { preview: p.preview } : {}),
        phaseStartedAt: phaseChanged ? now : j.phaseStartedAt,
        phaseMs,
        // Steps reported together (a slow renderer) share the time between them.
        stepMs: newStep ? [...j.stepMs, ...Array.from({ length: p.step - j.step }, () => (now - j.stepAt) / (p.step - j.step))] : j.stepMs,
        stepAt: newStep || (phaseChanged && p.phase === 'denoising') ? now : j.stepAt,
      };
    }
    case 'succeeded':
      return { ...j, status: 'succeeded', generation: e.generation, phaseMs: { ...j.phaseMs, [j.phase]: (j.phaseMs[j.phase] ?? 0) + (now - j.phaseStartedAt) } };
    case 'failed':
      return { ...j, status: 'failed', error: e.error };
    case 'cancelled':
      return { ...j, status: 'cancelled' };
    case 'delivered':
      // Only A1111 API jobs end this way; the window never starts one.
      return j;
  }
}

/** How long each phase took in a finished job: the weights of the next job's progress bar. */
export interface PhaseTimings {
  readonly loadingMs: number;
  readonly encodingMs: number;
  readonly stepMs: number;
  readonly decodingMs: number;
  readonly savingMs: number;
  /** Pixels of the image they were measured at: decoding and saving grow with it. */
  readonly pixels: number;
}

export function timingsOf(j: JobView): PhaseTimings | undefined {
  if (j.status !== 'succeeded' || j.stepMs.length === 0 || !j.request) return undefined;
  const steps = j.stepMs.reduce((a, b) => a + b, 0);
  return {
    loadingMs: j.phaseMs.loading ?? 0,
    encodingMs: j.phaseMs.encoding ?? 0,
    stepMs: steps / j.stepMs.length,
    decodingMs: j.phaseMs.decoding ?? 0,
    savingMs: j.phaseMs.saving ?? 0,
    pixels: j.request.width * j.request.height,
  };
}

/** Before any measurement: the proportions of a small CPU job (decoding is slow relative to one step). */
const GUESS: PhaseTimings = { loadingMs: 1500, encodingMs: 400, stepMs: 1000, decodingMs: 2500, savingMs: 300, pixels: 1024 * 1024 };

export interface Estimate {
  /** 0..1, weighted by how long each phase takes. */
  readonly fraction: number;
  /** Seconds left, once there is a measurement to base it on. */
  readonly secondsLeft?: number;
}

/**
 * Where a running job stands: every phase weighted by its expected time (the last job's timings scaled to
 * this image's pixels, this job's own step times once it has some), the current phase counted by its elapsed
 * time but never past its expected end.
 */
export function estimate(j: JobView, now: number, last?: PhaseTimings): Estimate {
  if (j.status === 'succeeded') return { fraction: 1, secondsLeft: 0 };
  const base = last ?? GUESS;
  const pixels = j.request ? j.request.width * j.request.height : base.pixels;
  const scale = pixels / base.pixels;
  const ownStep = j.stepMs.length > 0 ? j.stepMs.reduce((a, b) => a + b, 0) / j.stepMs.length : undefined;
  const stepMs = ownStep ?? base.stepMs * scale;
  const loadingMs = j.phaseMs.loading ?? (j.phase === 'loading' ? Math.max(base.loadingMs, now - j.phaseStartedAt) : base.loadingMs);
  const phases: [JobPhase, number][] = [
    ['loading', loadingMs],
    ['encoding', j.phaseMs.encoding ?? base.encodingMs],
    ['denoising', stepMs * Math.max(1, j.totalSteps)],
    ['decoding', j.phaseMs.decoding ?? base.decodingMs * scale],
    ['saving', base.savingMs * scale],
  ];
  const total = phases.reduce((a, [, ms]) => a + ms, 0);
  let done = 0;
  for (const [phase, ms] of phases) {
    if (phase === j.phase) {
      const elapsed = phase === 'denoising' ? j.step * stepMs + Math.min(stepMs, now - j.stepAt) : now - j.phaseStartedAt;
      done += Math.min(ms * 0.98, elapsed);
      break;
    }
    if (j.phase === 'queued') break;
    done += ms;
  }
  const fraction = Math.max(0, Math.min(1, done / total));
  // A job still waiting for others cannot say when it will be done.
  const measured = j.status !== 'queued' && (last !== undefined || ownStep !== undefined);
  return measured ? { fraction, secondsLeft: Math.max(0, (total - done) / 1000) } : { fraction };
}

export function isActive(j: JobView): boolean {
  return j.status === 'queued' || j.status === 'running';
}
