// The history thread: runs the UI's history queries on its own read-only connection, so a flood of
// searches never stalls the main thread (which keeps answering, saving and serving files). Identical
// queries between two writes are answered once (PRAGMA data_version tells when another connection wrote).

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { HistoryQuery } from '../../shared/contract.js';
import { countMatching, listGenerations, type HistoryFilterQuery } from '../store/generations.js';

/** A page of the history, or how many images its filters match. */
export type HistoryRequest = { readonly id: number; readonly query: HistoryQuery } | { readonly id: number; readonly count: HistoryFilterQuery };

const CACHED = 256;
const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
let version: unknown;
const cache = new Map<string, ReturnType<typeof listGenerations> | number>();

parentPort?.on('message', (request: HistoryRequest) => {
  const { id } = request;
  try {
    const now = db.pragma('data_version', { simple: true });
    if (now !== version) {
      cache.clear();
      version = now;
    }
    const key = JSON.stringify(request, (k, v: unknown) => (k === 'id' ? undefined : v));
    let result = cache.get(key);
    if (result === undefined) {
      result = 'count' in request ? countMatching(db, request.count) : listGenerations(db, request.query);
      cache.set(key, result);
      if (cache.size > CACHED) cache.delete(cache.keys().next().value!);
    }
    parentPort!.postMessage({ id, result });
  } catch (e) {
    parentPort!.postMessage({ id, error: { message: e instanceof Error ? e.message : String(e), code: (e as { code?: unknown }).code } });
  }
});
