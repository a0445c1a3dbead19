// What /sdapi/v1/progress reports: the job the worker is running (the UI's or an API request's), with the
// position inside an API request's batch, computed as A1111 computes it.

import type { JobEvent } from '../../shared/contract.js';
import type { JobPhase } from '../../shared/progress.js';

/** One API request's images, in the order they run. */
export interface Batch {
  readonly jobIds: readonly string[];
  readonly startedAt: number;
  /** A1111's job_timestamp: when the request started, as YYYYMMDDhhmmss. */
  readonly timestamp: string;
  /** Images finished so far. */
  done: number;
  interrupted: boolean;
  /** The newest finished image of the batch (PNG), A1111's "current image" between images. */
  lastImage: Buffer | undefined;
}

interface Running {
  readonly jobId: string;
  readonly startedAt: number;
  phase: JobPhase;
  step: number;
  totalSteps: number;
  /** The newest step preview (a JPEG data URL), when the worker sends them. */
  preview: string | undefined;
}

export interface ProgressState {
  readonly skipped: boolean;
  readonly interrupted: boolean;
  readonly job: string;
  readonly job_count: number;
  readonly job_timestamp: string;
  readonly job_no: number;
  readonly sampling_step: number;
  readonly sampling_steps: number;
}

export interface ProgressResponse {
  readonly progress: number;
  readonly eta_relative: number;
  readonly state: ProgressState;
  readonly current_image: string | null;
  readonly textinfo: string | null;
}

export function a1111Timestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * A1111's live preview: the running image's newest step preview (base64 JPEG, as A1111 sends its previews
 * when its sample format is JPEG), else the batch's newest finished image (base64 PNG).
 */
function currentImage(r: Running, batch: Batch | undefined): string | null {
  const preview = r.preview ? /^data:image\/[\w+.-]+;base64,(.*)$/.exec(r.preview)?.[1] : undefined;
  return preview ?? batch?.lastImage?.toString('base64') ?? null;
}

/** Follows job events; knows which batch a job belongs to. */
export class ProgressTracker {
  private running: Running | undefined;
  private readonly batchOf = new Map<string, Batch>();
  private lastInterrupted = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** Feed every job event here. */
  onJobEvent(e: JobEvent): void {
    switch (e.type) {
      case 'queued':
        return;
      case 'progress':
        if (this.running?.jobId !== e.jobId) this.running = { jobId: e.jobId, startedAt: this.now(), phase: e.progress.phase, step: 0, totalSteps: 0, preview: undefined };
        this.running.phase = e.progress.phase;
        this.running.step = e.progress.step;
        this.running.totalSteps = e.progress.totalSteps;
        if (e.progress.preview) this.running.preview = e.progress.preview;
        return;
      case 'succeeded':
      case 'delivered':
      case 'failed':
      case 'cancelled':
        if (this.running?.jobId === e.jobId) this.running = undefined;
        return;
    }
  }

  add(batch: Batch): void {
    for (const id of batch.jobIds) this.batchOf.set(id, batch);
    this.lastInterrupted = false;
  }

  remove(batch: Batch): void {
    for (const id of batch.jobIds) this.batchOf.delete(id);
    if (batch.interrupted) this.lastInterrupted = true;
  }

  /** The API batch the running job belongs to, if any. */
  runningBatch(): Batch | undefined {
    return this.running ? this.batchOf.get(this.running.jobId) : undefined;
  }

  runningJobId(): string | undefined {
    return this.running?.jobId;
  }

  report(skipCurrentImage: boolean): ProgressResponse {
    const r = this.running;
    if (!r) {
      return {
        progress: 0,
        eta_relative: 0,
        state: { skipped: false, interrupted: this.lastInterrupted, job: '', job_count: 0, job_timestamp: '0', job_no: 0, sampling_step: 0, sampling_steps: 0 },
        current_image: null,
        textinfo: null,
      };
    }
    const batch = this.batchOf.get(r.jobId);
    const jobCount = batch ? batch.jobIds.length : 1;
    const jobNo = batch ? Math.max(0, batch.jobIds.indexOf(r.jobId)) : 0;
    // Loading and encoding count as the start of an image, decoding and saving as its end.
    const within = r.phase === 'denoising' ? (r.totalSteps > 0 ? r.step / r.totalSteps : 0) : r.phase === 'decoding' || r.phase === 'saving' ? 1 : 0;
    // A1111 starts at 0.01 so that the first answer is never 0 ("nothing running").
    const progress = Math.min(1, 0.01 + (jobNo + within) / jobCount);
    const started = batch?.startedAt ?? r.startedAt;
    const elapsed = Math.max(0, (this.now() - started) / 1000);
    return {
      progress,
      eta_relative: Math.max(0, elapsed / progress - elapsed),
      state: {
        skipped: false,
        interrupted: batch?.interrupted ?? false,
        job: batch ? 'scripts_txt2img' : 'studio',
        job_count: jobCount,
        job_timestamp: batch?.timestamp ?? a1111Timestamp(new Date(r.startedAt)),
        job_no: jobNo,
        sampling_step: r.phase === 'denoising' ? r.step : r.phase === 'decoding' || r.phase === 'saving' ? r.totalSteps : 0,
        sampling_steps: r.totalSteps,
      },
      current_image: skipCurrentImage ? null : currentImage(r, batch),
      textinfo: r.phase,
    };
  }
}
