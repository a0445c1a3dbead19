// Entry point of the inference worker process: receives jobs, runs them one at a time, reports back.

import { availableParallelism } from 'node:os';
import { serializeError, StudioError } from '../shared/result.js';
import { toWorkerSchema, type ToWorker } from '../shared/worker-protocol.js';
import { openModelFolder } from './model-folder.js';
import { connectToParent } from './parent-channel.js';
import { providersFromEnv } from './ort.js';
import { QwenImageRunner } from './qwen-image/qwen-image-runner.js';

type GenerateMessage = Extract<ToWorker, { type: 'generate' }>;

const parent = connectToParent();
const threads = Number(process.env.STUDIO_THREADS) || availableParallelism();
// CUDA -> DirectML -> CPU where configured; each one that cannot load is reported, never fatal.
const providers = providersFromEnv();
const loaded = new Map<string, QwenImageRunner>();
const running = new Map<string, AbortController>();
let queue: Promise<void> = Promise.resolve();

async function loadModel(dir: string): Promise<{ runner: QwenImageRunner; loadMs: number }> {
  const cached = loaded.get(dir);
  if (cached) return { runner: cached, loadMs: 0 };
  const t0 = performance.now();
  const folder = await openModelFolder(dir);
  // One model at a time: the real ones need all the memory there is.
  for (const [key, runner] of loaded) {
    await runner.release();
    loaded.delete(key);
  }
  const runner = await QwenImageRunner.open(folder, { intraOpThreads: threads, providers });
  loaded.set(dir, runner);
  return { runner, loadMs: performance.now() - t0 };
}

async function generate(msg: GenerateMessage): Promise<void> {
  const controller = new AbortController();
  running.set(msg.jobId, controller);
  try {
    parent.send({ type: 'progress', jobId: msg.jobId, phase: 'loading', step: 0, totalSteps: msg.request.steps });
    const { runner, loadMs } = await loadModel(msg.modelDir);
    const sampler = msg.sampler ?? runner.sampler;
    const out = await runner.generate(
      msg.request,
      (p) => parent.send({ type: 'progress', jobId: msg.jobId, ...p }),
      controller.signal,
      msg.loras,
      sampler,
    );
    parent.send({
      type: 'done',
      jobId: msg.jobId,
      image: { width: out.width, height: out.height, rgb: out.rgb },
      model: { id: msg.request.modelId, name: runner.folder.name, files: [...runner.folder.files] },
      sampler,
      device: runner.device,
      durations: { loadMs, ...out.durations },
    });
  } catch (e) {
    if (e instanceof StudioError && e.code === 'cancelled') parent.send({ type: 'cancelled', jobId: msg.jobId });
    else parent.send({ type: 'failed', jobId: msg.jobId, error: serializeError(e) });
  } finally {
    running.delete(msg.jobId);
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
      queue = queue.then(() => generate(msg));
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
