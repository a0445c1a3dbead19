// Starts the header-parsing thread for one large LoRA header. Where no thread can start (its compiled
// entry missing, or a packaged app that cannot load it), the caller parses in place instead.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { appRoot } from '../paths.js';
import type { LoraRefusal, LoraReport } from './lora-inspect.js';

/** The compiled thread entry: beside this module in dist/, or dist's copy when tests run the sources. */
export function inspectThreadEntry(): string {
  const beside = fileURLToPath(new URL('./lora-inspect-thread.js', import.meta.url));
  return existsSync(beside) ? beside : join(appRoot(), 'dist', 'app', 'main', 'library', 'lora-inspect-thread.js');
}

/** The report from a thread, or undefined when no thread could do it. */
export function inspectOnThread(file: string, name: string, bytes: Uint8Array, size: number): Promise<LoraReport | LoraRefusal | undefined> {
  const entry = inspectThreadEntry();
  if (!existsSync(entry)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    let settled = false;
    const worker = new Worker(entry);
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      f();
    };
    worker.once('message', (m: { report?: LoraReport | LoraRefusal; error?: string }) =>
      finish(() => (m.report ? resolve(m.report) : reject(new Error(m.error ?? 'the header thread answered nothing')))),
    );
    worker.once('error', () => finish(() => resolve(undefined)));
    worker.once('exit', () => finish(() => resolve(undefined)));
    worker.postMessage({ file, name, bytes, size });
  });
}
