import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedRequest } from '../../shared/generation.js';
import { nodeWorkerSpawner } from './worker-handle.js';
import { describeExit, WorkerSupervisor } from './worker-supervisor.js';

const request: ResolvedRequest = { prompt: 'x', negativePrompt: '', seed: 1, steps: 1, guidance: 1, width: 256, height: 256, modelId: 'demo', format: 'png', loras: [] };

function script(source: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fake-worker-')), 'worker.mjs');
  writeFileSync(file, source);
  return file;
}

describe('WorkerSupervisor', () => {
  it('reports a worker that dies on start as unavailable, with its exit code', async () => {
    const s = new WorkerSupervisor(nodeWorkerSpawner(script('process.exit(3)')), { maxCrashes: 0 });
    await expect(s.run({ jobId: 'j1', modelDir: '.', request }, () => undefined)).rejects.toMatchObject({
      code: 'worker-unavailable',
      message: 'The image worker failed to start: it exited with code 3.',
    });
    await s.stop();
  });

  it('gives up waiting for a worker that never says it is ready', async () => {
    const s = new WorkerSupervisor(nodeWorkerSpawner(script('setInterval(() => {}, 1000)')), { readyTimeoutMs: 300, maxCrashes: 0 });
    await expect(s.start()).rejects.toThrow('The image worker did not start within 0.3 s.');
    await s.stop();
  });

  it('ignores malformed messages from the worker and still completes the job', async () => {
    const worker = script(`
      process.send({ type: 'ready', pid: process.pid, device: 'fake' });
      process.on('message', (m) => {
        if (m.type === 'shutdown') process.exit(0);
        if (m.type !== 'generate') return;
        process.send({ type: 'progress', jobId: m.jobId, phase: 'warp-speed' });
        process.send({ type: 'failed', jobId: m.jobId, error: { code: 'inference-failed', message: 'The VAE produced 3 invalid (NaN or infinite) values; the image was not saved.', notice: { key: 'error.vaeInvalid', params: { count: 3 } } } });
      });
      process.on('disconnect', () => process.exit(0));
    `);
    const s = new WorkerSupervisor(nodeWorkerSpawner(worker));
    await expect(s.run({ jobId: 'j2', modelDir: '.', request }, () => undefined)).rejects.toMatchObject({
      code: 'inference-failed',
      message: 'The VAE produced 3 invalid (NaN or infinite) values; the image was not saved.',
      notice: { key: 'error.vaeInvalid', params: { count: 3 } },
    });
    await s.stop();
  });

  it('a cancel that arrives while the worker is still starting cancels the job', async () => {
    const s = new WorkerSupervisor(nodeWorkerSpawner(script(`
      setTimeout(() => process.send({ type: 'ready', pid: process.pid, device: 'fake' }), 300);
      process.on('message', (m) => { if (m.type === 'generate') process.send({ type: 'failed', jobId: m.jobId, error: { code: 'internal', message: 'should not have run' } }); if (m.type === 'shutdown') process.exit(0); });
      process.on('disconnect', () => process.exit(0));
    `)));
    try {
      const job = s.run({ jobId: 'early', modelDir: '.', request }, () => undefined);
      s.cancel('early');
      await expect(job).rejects.toMatchObject({ code: 'cancelled' });
    } finally {
      await s.stop();
    }
  });

  it('describes exits in words', () => {
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toMatch(/killed by SIGKILL \(out of memory/);
    expect(describeExit({ code: 134, signal: null })).toBe('it exited with code 134');
  });

  it('kills a worker that does not honour a cancel within the bound, fails the job saying so, and runs the next job', async () => {
    // A job whose prompt is "wedge" spins forever (as a runaway loop at 100% CPU would); others succeed.
    const worker = script(`
      process.send({ type: 'ready', pid: process.pid, device: 'fake' });
      process.on('message', (m) => {
        if (m.type === 'shutdown') process.exit(0);
        if (m.type !== 'generate') return;
        if (m.request.prompt === 'wedge') {
          process.send({ type: 'progress', jobId: m.jobId, phase: 'denoising', step: 1, totalSteps: 4 });
          // Deaf to messages while it spins; bounded, so a failed test never leaves it running.
          const end = Date.now() + 30_000;
          while (Date.now() < end) {}
          process.exit(1);
        }
        process.send({
          type: 'done', jobId: m.jobId, image: { width: 1, height: 1, rgb: new Uint8Array(3) },
          model: { id: 'fake', name: 'fake', files: [] },
          sampler: { name: 'flow-match-euler', shift: 1, useDynamicShifting: false, timeShiftType: 'exponential', baseShift: 0.5, maxShift: 0.9, baseImageSeqLen: 256, maxImageSeqLen: 4096, shiftTerminal: null, numTrainTimesteps: 1000 },
          device: 'fake', plan: 'resident', durations: { loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0 },
        });
      });
      process.on('disconnect', () => process.exit(0));
    `);
    const s = new WorkerSupervisor(nodeWorkerSpawner(worker), { cancelGraceMs: 500 });
    try {
      let spinning: () => void = () => undefined;
      const started = new Promise<void>((r) => (spinning = r));
      const wedged = s.run({ jobId: 'stuck', modelDir: '.', request: { ...request, prompt: 'wedge' } }, () => spinning());
      await started;
      const wedgedPid = s.pid;
      const asked = Date.now();
      s.cancel('stuck');
      await expect(wedged).rejects.toMatchObject({ code: 'worker-crashed', notice: { key: 'error.workerWedged', params: { seconds: 0.5 } } });
      expect(Date.now() - asked).toBeGreaterThanOrEqual(450);
      expect(Date.now() - asked).toBeLessThan(5000);
      // The next job runs on a fresh worker.
      await expect(s.run({ jobId: 'next', modelDir: '.', request }, () => undefined)).resolves.toMatchObject({ device: 'fake' });
      expect(s.pid).not.toBe(wedgedPid);
    } finally {
      await s.stop();
    }
  });
});
