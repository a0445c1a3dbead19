// Supervises the inference worker: runs the job the queue hands it (app/main/jobs/job-queue.ts decides
// which, one at a time), turns a crash into a clear job failure, restarts.

import type { Precision } from '../../shared/precision.js';
import type { ResolvedRequest, SamplerSettings } from '../../shared/generation.js';
import type { JobProgress } from '../../shared/progress.js';
import { StudioError } from '../../shared/result.js';
import { notice, noticeText, type Notice } from '../../shared/notices.js';
import { fromWorkerSchema, type FromWorker, type ModelFile, type WorkerLora } from '../../shared/worker-protocol.js';
import type { ComponentSizes, PlanReport } from '../../shared/vram-plan.js';
import type { SpawnWorker, WorkerExit, WorkerHandle } from './worker-handle.js';

export interface WorkerJob {
  readonly jobId: string;
  readonly modelDir: string;
  readonly request: ResolvedRequest;
  readonly loras?: readonly WorkerLora[];
  readonly sampler?: SamplerSettings;
  /** Image-to-image: the decoded input image, fitted to the request's size. */
  readonly initImage?: { readonly width: number; readonly height: number; readonly rgb: Uint8Array; readonly strength: number };
}

export interface WorkerOutput {
  readonly image: { readonly width: number; readonly height: number; readonly rgb: Uint8Array };
  readonly model: { readonly id: string; readonly name: string; readonly files: readonly ModelFile[] };
  readonly sampler: SamplerSettings;
  readonly device: string;
  /** The precision the transformer computed in. */
  readonly precision?: Precision;
  /** The execution plan that made the image. */
  readonly plan: string;
  readonly durations: { readonly loadMs: number; readonly encodeMs: number; readonly denoiseMs: number; readonly decodeMs: number };
}

/** Progress as the worker reports it: the step preview still as raw pixels (main encodes it for the UI). */
export type WorkerProgress = Omit<JobProgress, 'preview'> & { readonly preview?: { readonly width: number; readonly height: number; readonly rgb: Uint8Array } };

interface Pending {
  readonly job: WorkerJob;
  readonly onProgress: (p: WorkerProgress) => void;
  readonly resolve: (out: WorkerOutput) => void;
  readonly reject: (e: StudioError) => void;
}

export interface SupervisorOptions {
  /** How long a fresh worker may take to say it is ready. */
  readonly readyTimeoutMs?: number;
  /** More crashes than this within crashWindowMs and the worker is not restarted until the next job. */
  readonly maxCrashes?: number;
  readonly crashWindowMs?: number;
  /**
   * How long a running job may ignore a cancel before the worker is taken to be wedged (a loop that never
   * reaches a step boundary, a native call that never returns) and is killed and restarted, so the jobs
   * queued behind it run.
   */
  readonly cancelGraceMs?: number;
  /** How long a plan request may go unanswered before it fails (the worker answers between steps). */
  readonly planTimeoutMs?: number;
}

export function exitNotice(exit: WorkerExit): Notice {
  if (exit.signal === 'SIGKILL') return notice('exit.killed');
  if (exit.signal) return notice('exit.signal', { signal: exit.signal });
  return notice('exit.code', { code: exit.code ?? '?' });
}

export function describeExit(exit: WorkerExit): string {
  return noticeText(exitNotice(exit));
}

export class WorkerSupervisor {
  private worker: WorkerHandle | undefined;
  private ready: Promise<WorkerHandle> | undefined;
  private current: Pending | undefined;
  private crashes: number[] = [];
  private stopped = false;
  private readonly planRequests = new Map<string, { resolve: (r: PlanReport) => void; reject: (e: StudioError) => void }>();
  private planSeq = 0;
  /** Jobs cancelled before they reached the worker. */
  private readonly cancelledEarly = new Set<string>();
  private readonly readyTimeoutMs: number;
  private readonly maxCrashes: number;
  private readonly crashWindowMs: number;
  private readonly cancelGraceMs: number;
  private readonly planTimeoutMs: number;
  /** The cancel watchdog of the running job, and whether it fired (the kill that follows is not a crash). */
  private watchdog: { jobId: string; timer: NodeJS.Timeout; fired: boolean } | undefined;

  constructor(
    private readonly spawn: SpawnWorker,
    options: SupervisorOptions = {},
  ) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.maxCrashes = options.maxCrashes ?? 3;
    this.crashWindowMs = options.crashWindowMs ?? 60_000;
    this.cancelGraceMs = options.cancelGraceMs ?? 10_000;
    this.planTimeoutMs = options.planTimeoutMs ?? 120_000;
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog.timer);
    this.watchdog = undefined;
  }

  get pid(): number | undefined {
    return this.worker?.pid;
  }

  /** Starts the worker if it is not running and resolves when it has said it is ready. */
  start(): Promise<WorkerHandle> {
    if (this.stopped) return Promise.reject(new StudioError('worker-unavailable', notice('error.shuttingDown')));
    this.ready ??= new Promise<WorkerHandle>((resolve, reject) => {
      const w = this.spawn();
      this.worker = w;
      let isReady = false;
      const timer = setTimeout(() => {
        reject(new StudioError('worker-unavailable', notice('error.workerStartTimeout', { seconds: this.readyTimeoutMs / 1000 })));
        w.kill();
      }, this.readyTimeoutMs);
      w.onMessage((raw) => {
        const parsed = fromWorkerSchema.safeParse(raw);
        if (!parsed.success) {
          console.error(`studio: ignoring malformed worker message: ${parsed.error.message}`);
          return;
        }
        if (parsed.data.type === 'ready') {
          isReady = true;
          clearTimeout(timer);
          resolve(w);
          return;
        }
        this.handle(parsed.data);
      });
      w.onExit((exit) => {
        clearTimeout(timer);
        if (this.worker === w) {
          this.worker = undefined;
          this.ready = undefined;
        }
        if (!isReady) reject(new StudioError('worker-unavailable', notice('error.workerStartFailed', { exit: exitNotice(exit) })));
        this.onCrash(exit);
      });
    });
    return this.ready;
  }

  private handle(msg: FromWorker): void {
    if (msg.type === 'plan-report' || msg.type === 'plan-failed') {
      const waiting = this.planRequests.get(msg.requestId);
      this.planRequests.delete(msg.requestId);
      if (msg.type === 'plan-report') waiting?.resolve(msg.report);
      else waiting?.reject(StudioError.from(msg.error));
      return;
    }
    const p = this.current;
    if (!p || !('jobId' in msg) || msg.jobId !== p.job.jobId) return;
    if (msg.type !== 'progress') this.clearWatchdog();
    switch (msg.type) {
      case 'progress':
        p.onProgress({ phase: msg.phase, step: msg.step, totalSteps: msg.totalSteps, ...(msg.note ? { note: msg.note } : {}), ...(msg.preview ? { preview: msg.preview } : {}) });
        return;
      case 'done':
        this.current = undefined;
        p.resolve({ image: msg.image, model: msg.model, sampler: msg.sampler, device: msg.device, ...(msg.precision ? { precision: msg.precision } : {}), plan: msg.plan, durations: msg.durations });
        return;
      case 'failed':
        this.current = undefined;
        p.reject(StudioError.from(msg.error));
        return;
      case 'cancelled':
        this.current = undefined;
        p.reject(new StudioError('cancelled', notice('error.cancelled')));
        return;
    }
  }

  private onCrash(exit: WorkerExit): void {
    for (const waiting of this.planRequests.values()) waiting.reject(new StudioError('worker-crashed', notice('error.workerCrashedPlanning', { exit: exitNotice(exit) })));
    this.planRequests.clear();
    const p = this.current;
    this.current = undefined;
    const wedged = this.watchdog?.fired === true && this.watchdog.jobId === p?.job.jobId;
    this.clearWatchdog();
    if (this.stopped) {
      p?.reject(new StudioError('worker-unavailable', notice('error.shuttingDown')));
      return;
    }
    if (wedged) {
      // Killed by the watchdog: not a crash, and the worker comes back at once for the jobs waiting.
      p?.reject(new StudioError('worker-crashed', notice('error.workerWedged', { seconds: this.cancelGraceMs / 1000 })));
      this.start().catch(() => undefined);
      return;
    }
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < this.crashWindowMs), now];
    const restarting = this.crashes.length <= this.maxCrashes;
    p?.reject(
      new StudioError(
        'worker-crashed',
        notice(restarting ? 'error.workerCrashedRestarted' : 'error.workerCrashedRepeatedly', { exit: exitNotice(exit) }),
      ),
    );
    // Restart at once so the next job does not wait, unless it keeps crashing.
    if (restarting) this.start().catch(() => undefined);
  }

  /** Runs one job; rejects with a StudioError (code 'cancelled' when cancelled). One job at a time. */
  async run(job: WorkerJob, onProgress: (p: WorkerProgress) => void): Promise<WorkerOutput> {
    // The protocol has one job slot; the job queue never hands over a second job while one runs.
    if (this.current) throw new Error('WorkerSupervisor.run: a job is already running');
    const w = await this.start();
    // Cancelled while the worker was starting (or the job was being prepared): it never begins.
    if (this.cancelledEarly.delete(job.jobId)) throw new StudioError('cancelled', notice('error.cancelled'));
    return new Promise<WorkerOutput>((resolve, reject) => {
      this.current = { job, onProgress, resolve, reject };
      w.send({
        type: 'generate',
        seq: Date.now(),
        jobId: job.jobId,
        modelDir: job.modelDir,
        request: job.request,
        loras: [...(job.loras ?? [])],
        ...(job.sampler ? { sampler: job.sampler } : {}),
        ...(job.initImage ? { initImage: job.initImage } : {}),
      });
    });
  }

  /** The plan report for a model at a size on the worker's device (answered between steps of a running job). */
  async plan(modelDir: string, width: number, height: number, speedLoraFiles: readonly string[] = []): Promise<PlanReport> {
    const w = await this.start();
    const requestId = `plan-${++this.planSeq}`;
    return this.planRequest(requestId, () => w.send({ type: 'plan', seq: Date.now(), requestId, modelDir, width, height, speedLoraFiles: [...speedLoraFiles] }));
  }

  /** Waits for the answer to a plan request, at most planTimeoutMs (a wedged worker never answers). */
  private planRequest(requestId: string, send: () => void): Promise<PlanReport> {
    return new Promise<PlanReport>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.planRequests.delete(requestId)) reject(new StudioError('worker-unavailable', notice('error.planTimeout', { seconds: this.planTimeoutMs / 1000 })));
      }, this.planTimeoutMs);
      timer.unref();
      const done = () => clearTimeout(timer);
      this.planRequests.set(requestId, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      send();
    });
  }

  /** The plan report for a model known by its sizes only (a catalog entry before its download). */
  async planForSizes(sizes: ComponentSizes, width: number, height: number, loraBytes = 0): Promise<PlanReport> {
    const w = await this.start();
    const requestId = `plan-${++this.planSeq}`;
    return this.planRequest(requestId, () => w.send({ type: 'plan-sizes', seq: Date.now(), requestId, sizes, width, height, loraBytes }));
  }

  /**
   * Asks the running job to stop at its next step. A worker that has not answered within cancelGraceMs is
   * wedged: it is killed, the job fails saying so, and a fresh worker takes the next job.
   */
  cancel(jobId: string): void {
    if (this.current?.job.jobId !== jobId) {
      // The job queue runs it but it has not reached the worker yet: remember, so it does not start.
      this.cancelledEarly.add(jobId);
      if (this.cancelledEarly.size > 64) this.cancelledEarly.delete(this.cancelledEarly.values().next().value!);
      return;
    }
    this.worker?.send({ type: 'cancel', seq: Date.now(), jobId });
    if (this.watchdog?.jobId === jobId) return;
    this.clearWatchdog();
    const worker = this.worker;
    const timer = setTimeout(() => {
      if (this.current?.job.jobId !== jobId || this.worker !== worker || !this.watchdog) return;
      this.watchdog.fired = true;
      worker?.kill();
    }, this.cancelGraceMs);
    timer.unref();
    this.watchdog = { jobId, timer, fired: false };
  }

  /** Kills the worker; a job in flight fails as a crash would. For tests and diagnostics. */
  kill(): void {
    this.worker?.kill();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      w.onExit(() => resolve());
      w.send({ type: 'shutdown', seq: Date.now() });
      setTimeout(() => w.kill(), 3000).unref();
    });
  }
}
