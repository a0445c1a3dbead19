// Runs history queries on the history thread (history-thread.ts) and hands back their pages; identical
// queries in flight share one answer. Where no thread can start (its compiled entry missing, a packaged
// app that cannot load it from the archive), the queries run here on the main connection instead.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HistoryQuery } from '../../shared/contract.js';
import { appRoot } from '../paths.js';
import type { Db } from '../store/database.js';
import { countMatching, listGenerations, type HistoryFilterQuery } from '../store/generations.js';
import type { HistoryRequest } from './history-thread.js';

type Page = ReturnType<typeof listGenerations>;

/** The compiled thread entry: beside this module in dist/, or dist's copy when tests run the sources. */
export function historyThreadEntry(): string {
  const beside = fileURLToPath(new URL('./history-thread.js', import.meta.url));
  return existsSync(beside) ? beside : join(appRoot(), 'dist', 'app', 'main', 'history', 'history-thread.js');
}

export class HistoryReader {
  private worker: Worker | undefined;
  private unavailable = false;
  private nextId = 1;
  private readonly pending = new Map<number, { request: HistoryRequest; resolve: (p: Page | number) => void; reject: (e: Error) => void }>();
  private readonly inFlight = new Map<string, Promise<Page | number>>();

  constructor(
    private readonly db: Db,
    private readonly file: string,
  ) {}

  /** Whether queries run on the thread (false after it failed to start: they run on the main connection). */
  get threaded(): boolean {
    return !this.unavailable;
  }

  list(query: HistoryQuery): Promise<Page> {
    return this.shared({ id: 0, query }) as Promise<Page>;
  }

  /** How many images the filters match, exactly (the gallery's count). */
  count(filters: HistoryFilterQuery): Promise<number> {
    return this.shared({ id: 0, count: filters }) as Promise<number>;
  }

  private shared(request: HistoryRequest): Promise<Page | number> {
    const key = JSON.stringify('count' in request ? { count: request.count } : { query: request.query });
    const shared = this.inFlight.get(key);
    if (shared) return shared;
    const p = this.run(request).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private answer(request: HistoryRequest): Page | number {
    return 'count' in request ? countMatching(this.db, request.count) : listGenerations(this.db, request.query);
  }

  private run(request: HistoryRequest): Promise<Page | number> {
    const worker = this.thread();
    if (!worker) return Promise.resolve().then(() => this.answer(request));
    const id = this.nextId++;
    return new Promise<Page | number>((resolve, reject) => {
      this.pending.set(id, { request, resolve, reject });
      worker.postMessage({ ...request, id });
    });
  }

  private thread(): Worker | undefined {
    if (this.unavailable) return undefined;
    if (this.worker) return this.worker;
    const entry = historyThreadEntry();
    if (!existsSync(entry) || this.file === ':memory:') {
      this.unavailable = true;
      return undefined;
    }
    const worker = new Worker(entry, { workerData: { file: this.file } });
    // Not a reason to keep the process alive: a CLI that is done exits.
    worker.unref();
    worker.on('message', (m: { id: number; result?: Page | number; error?: { message: string; code?: string } }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) return;
      if (m.result !== undefined) p.resolve(m.result);
      else p.reject(Object.assign(new Error(m.error?.message ?? 'the history thread failed'), { code: m.error?.code }));
    });
    const fallBack = () => {
      // The thread is gone (it could not start, or died): what it had not answered runs here.
      this.unavailable = true;
      this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        try {
          p.resolve(this.answer(p.request));
        } catch (e) {
          p.reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
    };
    worker.on('error', fallBack);
    worker.on('exit', () => {
      if (this.worker === worker) fallBack();
    });
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.unavailable = true;
    if (w) await w.terminate();
  }
}
