// Entry point of the inference worker process: receives jobs, runs them one at a time, reports back.

import { availableParallelism } from 'node:os';
import { serializeError, StudioError } from '../shared/result.js';
import { choiceOf, describePlan, fallbacksAfter, type ExecutionChoice } from '../shared/vram-plan.js';
import { notice, type Notice } from '../shared/notices.js';
import { toWorkerSchema, type ToWorker } from '../shared/worker-protocol.js';
import { discoverDevice, usableProviders, type Device } from './device.js';
import { openModelFolder, type ModelFolder } from './model-folder.js';
import { connectToParent } from './parent-channel.js';
import { workerSettings, type WorkerSettings } from './worker-settings.js';
import { withPlanFallback } from './plan-fallback.js';
import { planReport, reportForSizes } from './plan-report.js';
import { workerFamily } from './families.js';
import type { FamilyRunner } from './family-runner.js';

type GenerateMessage = Extract<ToWorker, { type: 'generate' }>;
type PlanMessage = Extract<ToWorker, { type: 'plan' }>;

const parent = connectToParent();
const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();
// The environment's settings, read once: a mistake in one (a typo in STUDIO_PLAN) fails each job with a
// clear message instead of ending the worker before it can say anything.
const settings = workerSettings(process.env);
const vramGB = Number(process.env.STUDIO_VRAM_GB) || undefined;
let device: Promise<Device> | undefined;
const loaded = new Map<string, FamilyRunner>();
const running = new Map<string, AbortController>();
let queue: Promise<void> = Promise.resolve();

function currentSettings(): WorkerSettings {
  if (!settings.ok) throw settings.error;
  return settings.value;
}

function currentDevice(): Promise<Device> {
  const { providers, precision } = currentSettings();
  device ??= discoverDevice(providers, threads, vramGB, precision);
  return device;
}

async function loadModel(folder: ModelFolder, plan: ExecutionChoice, note: (n: Notice) => void): Promise<{ runner: FamilyRunner; loadMs: number }> {
  const cached = loaded.get(folder.dir);
  if (cached && describePlan(cached.plan) === describePlan(plan)) return { runner: cached, loadMs: 0 };
  const t0 = performance.now();
  // One model (and one plan) at a time: the real ones need all the memory there is.
  for (const [key, runner] of loaded) {
    await runner.release();
    loaded.delete(key);
  }
  const device = await currentDevice();
  const providers = usableProviders(currentSettings().providers, device.summary);
  const precision = device.summary.precision;
  const runner = await workerFamily(folder.family).open(folder, { intraOpThreads: threads, providers, ...(precision ? { precision } : {}) }, plan, note);
  loaded.set(folder.dir, runner);
  return { runner, loadMs: performance.now() - t0 };
}

/** `controller` exists from the job's arrival: a cancel that comes while an earlier job still runs is kept. */
async function generate(msg: GenerateMessage, controller: AbortController): Promise<void> {
  const steps = msg.request.steps;
  const note = (n: Notice) => parent.send({ type: 'progress', jobId: msg.jobId, phase: 'loading', step: 0, totalSteps: steps, note: n });
  const noteNotice = (n: Notice) => parent.send({ type: 'progress', jobId: msg.jobId, phase: 'denoising', step: 0, totalSteps: steps, note: n });
  try {
    if (controller.signal.aborted) throw new StudioError('cancelled', notice('error.cancelled'));
    parent.send({ type: 'progress', jobId: msg.jobId, phase: 'loading', step: 0, totalSteps: steps });
    const { forcedPlan } = currentSettings();
    const folder = await openModelFolder(msg.modelDir);
    const device = await currentDevice();
    const speedFiles = msg.loras.filter((l) => l.role === 'speed').map((l) => l.file);
    const styleCount = msg.loras.filter((l) => l.role === 'style').length;
    const { report, sizes, memory, adapters } = await planReport(folder, msg.request.width, msg.request.height, device, forcedPlan, speedFiles, styleCount);
    const first = forcedPlan ?? (report.chosen ? choiceOf(report.chosen) : undefined);
    if (!first) throw new StudioError('invalid-request', report.advice ?? notice('error.noPlanFits'));
    let loadMs = 0;
    const { value: out, plan } = await withPlanFallback(
      first,
      (failed) => fallbacksAfter(sizes, memory, msg.request.width, msg.request.height, 1, device.budget, failed, adapters),
      async (p) => {
        const opened = await loadModel(folder, p, note);
        loadMs += opened.loadMs;
        const image = await opened.runner.generate(
          { request: msg.request, loras: msg.loras, ...(msg.sampler ? { sampler: msg.sampler } : {}), ...(msg.initImage ? { initImage: msg.initImage } : {}) },
          (progress) => parent.send({ type: 'progress', jobId: msg.jobId, ...progress }),
          controller.signal,
          noteNotice,
        );
        return { image, runner: opened.runner, sampler: image.sampler };
      },
      (from, to) => note(notice('note.planFallback', { from: describePlan(from), to: describePlan(to) })),
    );
    parent.send({
      type: 'done',
      jobId: msg.jobId,
      image: { width: out.image.width, height: out.image.height, rgb: out.image.rgb },
      model: { id: msg.request.modelId, name: out.runner.folder.name, files: [...out.runner.folder.files] },
      sampler: out.sampler,
      device: out.runner.device,
      precision: out.runner.precision,
      plan: describePlan(plan),
      durations: { loadMs, ...out.image.durations },
    });
  } catch (e) {
    if (e instanceof StudioError && e.code === 'cancelled') parent.send({ type: 'cancelled', jobId: msg.jobId });
    else parent.send({ type: 'failed', jobId: msg.jobId, error: serializeError(e) });
  } finally {
    running.delete(msg.jobId);
  }
}

async function plan(msg: PlanMessage): Promise<void> {
  try {
    const folder = await openModelFolder(msg.modelDir);
    const report = (await planReport(folder, msg.width, msg.height, await currentDevice(), currentSettings().forcedPlan, msg.speedLoraFiles)).report;
    parent.send({ type: 'plan-report', requestId: msg.requestId, report });
  } catch (e) {
    parent.send({ type: 'plan-failed', requestId: msg.requestId, error: serializeError(e) });
  }
}

/** A catalog model before it is downloaded: the planner over its published sizes, on this device. */
async function planSizes(msg: Extract<ToWorker, { type: 'plan-sizes' }>): Promise<void> {
  try {
    const report = reportForSizes(msg.sizes, msg.width, msg.height, await currentDevice(), msg.loraBytes);
    parent.send({ type: 'plan-report', requestId: msg.requestId, report });
  } catch (e) {
    parent.send({ type: 'plan-failed', requestId: msg.requestId, error: serializeError(e) });
  }
}

parent.onMessage((raw) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    // A malformed message is a bug in the main process; say so loudly but keep serving.
    console.error(`studio worker: ignoring malformed message: ${parsed.error.message}`);
    return;
  }
  const msg = parsed.data;
  switch (msg.type) {
    case 'generate':
      {
        const controller = new AbortController();
        running.set(msg.jobId, controller);
        queue = queue.then(() => generate(msg, controller));
      }
      break;
    case 'plan':
      // Not queued: planning reads headers only and answers between the steps of a running job.
      void plan(msg);
      break;
    case 'plan-sizes':
      void planSizes(msg);
      break;
    case 'cancel':
      running.get(msg.jobId)?.abort();
      break;
    case 'shutdown':
      void queue.then(() => process.exit(0));
      break;
  }
});

parent.send({ type: 'ready', pid: process.pid, device: `cpu (${threads} threads)` });
