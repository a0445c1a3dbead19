// Quantizing tensors on several cores: a small pool of worker threads, each running the same pure
// functions as block-quant.ts (their source is sent to the thread, so there is no second copy to drift).
// Results come back in submission order; at most `size` tensors are in flight, which bounds host memory.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { quantizeMatrix, toFloat32, type Bits, type QuantizedMatrix } from './block-quant.js';

export interface QuantizeJob {
  readonly raw: Uint8Array;
  readonly dtype: string;
  readonly n: number;
  readonly k: number;
  readonly bits: Bits;
  readonly blockSize: number;
}

const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const quantizeMatrix = ${quantizeMatrix.toString()};
const toFloat32 = ${toFloat32.toString()};
parentPort.on('message', ({ id, raw, dtype, n, k, bits, blockSize }) => {
  try {
    const q = quantizeMatrix(toFloat32(raw, dtype), n, k, bits, blockSize);
    parentPort.postMessage({ id, packed: q.packed, scales: q.scales }, [q.packed.buffer, q.scales.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

export class QuantizePool {
  private readonly workers: Worker[];
  private readonly idle: Worker[];
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Map<number, { resolve: (q: QuantizedMatrix) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  /** Up to four threads by default: each tensor in flight costs its bytes three times over. */
  constructor(readonly size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(THREAD_SOURCE, { eval: true });
      w.on('message', (m: { id: number; packed?: Uint8Array; scales?: Float32Array; error?: string }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        this.release(w);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve({ packed: m.packed!, scales: m.scales! });
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      return w;
    });
    this.idle = [...this.workers];
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }

  /** Resolves when a thread has taken the job (so callers can bound what they read ahead), with its result to come. */
  async submit(job: QuantizeJob): Promise<{ readonly result: Promise<QuantizedMatrix> }> {
    while (this.idle.length === 0) await new Promise<void>((r) => this.waiting.push(r));
    const w = this.idle.shift()!;
    const id = this.nextId++;
    const done = new Promise<QuantizedMatrix>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    const raw = job.raw.byteOffset === 0 && job.raw.byteLength === job.raw.buffer.byteLength ? job.raw : job.raw.slice();
    w.postMessage({ id, raw, dtype: job.dtype, n: job.n, k: job.k, bits: job.bits, blockSize: job.blockSize }, [raw.buffer as ArrayBuffer]);
    return { result: done };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
