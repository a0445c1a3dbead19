// The history thread: runs the UI's history queries on its own read-only connection, so a flood of
// searches never stalls the main thread (which keeps answering, saving and serving files). Identical
// queries between two writes are answered once (PRAGMA data_version tells when another connection wrote).

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { HistoryQuery } from '../../shared/contract.js';
import { listGenerations } from '../store/generations.js';

interface Request {
  readonly id: number;
  readonly query: HistoryQuery;
}

const CACHED = 256;
const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
let version: unknown;
const cache = new Map<string, ReturnType<typeof listGenerations>>();

parentPort?.on('message', ({ id, query }: Request) => {
  try {
    const now = db.pragma('data_version', { simple: true });
    if (now !== version) {
      cache.clear();
      version = now;
    }
    const key = JSON.stringify(query);
    let result = cache.get(key);
    if (!result) {
      result = listGenerations(db, query);
      cache.set(key, result);
      if (cache.size > CACHED) cache.delete(cache.keys().next().value!);
    }
    parentPort!.postMessage({ id, result });
  } catch (e) {
    parentPort!.postMessage({ id, error: { message: e instanceof Error ? e.message : String(e), code: (e as { code?: unknown }).code } });
  }
});
