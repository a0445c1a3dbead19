// The one place that decides which generation runs: pending jobs in order, one running at a time, each
// cancellable, every change announced as a job event.

import type { JobEvent, QueueItem } from '../../shared/contract.js';
import type { GenerationRecord, ResolvedRequest } from '../../shared/generation.js';
import { notice } from '../../shared/notices.js';
import type { JobProgress } from '../../shared/progress.js';
import { StudioError } from '../../shared/result.js';

export interface Job<T> {
  readonly jobId: string;
  readonly request: ResolvedRequest;
  /** What the runner needs besides the request (model folder, LoRA files, sampler). */
  readonly work: T;
}

/** Runs one job to its result (the saved record); rejects with a StudioError (code 'cancelled' when cancelled). */
export type RunJob<T, R> = (job: Job<T>, onProgress: (p: JobProgress) => void) => Promise<R>;

interface Entry<T, R> {
  readonly job: Job<T>;
  readonly resolve: (r: R) => void;
  readonly reject: (e: StudioError) => void;
}

export interface JobQueueOptions<T, R> {
  readonly run: RunJob<T, R>;
  /** Asks the running job to stop; it ends through `run` rejecting with 'cancelled'. */
  readonly cancelRunning: (jobId: string) => void;
  /** The event a finished job announces, built from its result. */
  readonly succeeded: (result: R) => Extract<JobEvent, { type: 'succeeded' | 'delivered' }>;
}

export class JobQueue<T, R = GenerationRecord> {
  private readonly pending: Entry<T, R>[] = [];
  private running: Entry<T, R> | undefined;
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private readonly queueListeners = new Set<(items: QueueItem[]) => void>();
  private closed = false;

  constructor(private readonly options: JobQueueOptions<T, R>) {}

  /** Subscribes to job events; returns the unsubscribe function. */
  onEvent(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: JobEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Hears the whole queue (running first, then waiting) after every change; returns the unsubscribe function. */
  onQueueChange(listener: (items: QueueItem[]) => void): () => void {
    this.queueListeners.add(listener);
    return () => this.queueListeners.delete(listener);
  }

  private queueChanged(): void {
    if (this.queueListeners.size === 0) return;
    const items = this.jobs();
    for (const l of this.queueListeners) l(items);
  }

  /** Queues a job; the promise settles when it is saved, fails or is cancelled. */
  enqueue(job: Job<T>): Promise<R> {
    if (this.closed) return Promise.reject(new StudioError('worker-unavailable', notice('error.shuttingDown')));
    const completion = new Promise<R>((resolve, reject) => this.pending.push({ job, resolve, reject }));
    // Callers that only follow events must not trip Node's unhandled-rejection handler.
    completion.catch(() => undefined);
    this.emit({ type: 'queued', jobId: job.jobId, request: job.request });
    this.queueChanged();
    void this.pump();
    return completion;
  }

  /** The running job first, then the waiting ones in the order they will run. */
  jobs(): QueueItem[] {
    const running = this.running ? [{ jobId: this.running.job.jobId, request: this.running.job.request, running: true }] : [];
    return [...running, ...this.pending.map((e) => ({ jobId: e.job.jobId, request: e.job.request, running: false }))];
  }

  /** Cancels a waiting job at once, or asks the running one to stop. False when the job is unknown or over. */
  cancel(jobId: string): boolean {
    const i = this.pending.findIndex((e) => e.job.jobId === jobId);
    if (i >= 0) {
      const [entry] = this.pending.splice(i, 1);
      entry!.reject(new StudioError('cancelled', notice('error.cancelled')));
      this.emit({ type: 'cancelled', jobId });
      this.queueChanged();
      return true;
    }
    if (this.running?.job.jobId === jobId) {
      this.options.cancelRunning(jobId);
      return true;
    }
    return false;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    const entry = this.pending.shift();
    if (!entry) return;
    this.running = entry;
    this.queueChanged();
    const { jobId } = entry.job;
    try {
      const result = await this.options.run(entry.job, (progress) => this.emit({ type: 'progress', jobId, progress }));
      entry.resolve(result);
      this.emit(this.options.succeeded(result));
    } catch (e) {
      const err = e instanceof StudioError ? e : new StudioError('internal', notice('error.internal', { message: e instanceof Error ? e.message : String(e) }));
      entry.reject(err);
      if (err.code === 'cancelled') this.emit({ type: 'cancelled', jobId });
      else this.emit({ type: 'failed', jobId, error: err.toJSON() });
    } finally {
      this.running = undefined;
      this.queueChanged();
      void this.pump();
    }
  }

  /** Refuses new jobs and cancels the waiting ones; the running one ends with the worker. */
  close(): void {
    this.closed = true;
    for (const entry of this.pending.splice(0)) {
      entry.reject(new StudioError('cancelled', notice('error.shuttingDown')));
      this.emit({ type: 'cancelled', jobId: entry.job.jobId });
    }
    this.queueChanged();
  }
}
