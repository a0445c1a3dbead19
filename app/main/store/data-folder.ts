// Opens the studio's data folder for a run: checks it can be written (a clear message, not a stack
// trace, when it cannot), clears what a killed run left half-written, and opens the history database.

import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { PARTIAL_SUFFIX } from '../library/export.js';
import type { DataLayout } from '../paths.js';
import { openDatabase, type Db } from './database.js';

/** Folders of running studios' markers: a sweep happens only when no other studio uses the folder. */
const RUNNING = '.running';

function notWritable(dir: string, e: unknown): StudioError {
  const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
  return new StudioError('storage-failed', notice('error.data.notWritable', { dir, code }), dir);
}

/** Creates the folders and proves a file can be written there, before anything else touches them. */
export function ensureWritable(layout: DataLayout): void {
  try {
    mkdirSync(layout.root, { recursive: true });
  } catch (e) {
    throw notWritable(layout.root, e);
  }
  // A file written and removed in the folder itself: the plainest proof, with the system's own reason.
  const probe = join(layout.root, `.write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    throw notWritable(layout.root, e);
  }
  for (const dir of [layout.images, layout.thumbs]) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw notWritable(dir, e);
    }
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, it is someone else's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Marks this process as a user of the folder; returns the function that removes the mark. */
export function markRunning(root: string): () => void {
  const dir = join(root, RUNNING);
  const mark = join(dir, String(process.pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(mark, new Date().toISOString());
  return () => rmSync(mark, { force: true });
}

/** Whether another live process (a `studio serve` beside this `studio generate`) uses the folder. */
export function othersRunning(root: string): boolean {
  let names: string[];
  try {
    names = readdirSync(join(root, RUNNING));
  } catch {
    return false;
  }
  return names.some((n) => /^\d+$/.test(n) && Number(n) !== process.pid && isAlive(Number(n)));
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Removes what a run killed mid-write leaves: image and thumbnail `.partial` files, exports still under
 * their `.partial` name, uploads not yet imported, dead runs' markers. Only when no other studio is
 * using the folder, whose writes in progress look the same. Returns the paths removed.
 */
export function sweepLeftovers(layout: DataLayout): string[] {
  if (othersRunning(layout.root)) return [];
  const removed: string[] = [];
  const remove = (path: string) => {
    rmSync(path, { recursive: true, force: true });
    removed.push(path);
  };
  for (const base of [layout.images, layout.thumbs]) {
    for (const day of listOrEmpty(base)) {
      const dir = join(base, day);
      for (const f of listOrEmpty(dir)) if (f.endsWith(PARTIAL_SUFFIX)) remove(join(dir, f));
    }
  }
  const exports = join(layout.root, 'exports');
  for (const f of listOrEmpty(exports)) if (f.endsWith(PARTIAL_SUFFIX)) remove(join(exports, f));
  const uploads = join(layout.root, 'uploads');
  for (const f of listOrEmpty(uploads)) if (f.endsWith('.upload')) remove(join(uploads, f));
  for (const n of listOrEmpty(join(layout.root, RUNNING))) if (/^\d+$/.test(n) && !isAlive(Number(n))) rmSync(join(layout.root, RUNNING, n), { force: true });
  return removed;
}

export interface OpenedDataFolder {
  readonly db: Db;
  /** Files a killed run left half-written, removed at this start. */
  readonly swept: readonly string[];
  /** Removes this run's mark; call when the studio closes. */
  readonly release: () => void;
}

/**
 * A 0-byte studio.db is a valid empty database to SQLite, but beside a folder of images it is a history
 * that was lost (a failed copy, a truncating tool): starting on it would show an empty gallery as if
 * nothing had been made. It is refused, and repair rebuilds the history from the images.
 */
export function refuseLostHistory(layout: DataLayout): void {
  let size: number;
  try {
    size = statSync(layout.database).size;
  } catch {
    return; // no file: a first start
  }
  if (size > 0) return;
  const hasImages = listOrEmpty(layout.images).some((day) => listOrEmpty(join(layout.images, day)).some((f) => /\.(png|jpg)$/.test(f)));
  if (hasImages) throw new StudioError('database-corrupt', notice('error.database.empty', { file: layout.database }), layout.database);
}

/** Everything a run needs from its data folder, or a StudioError that says what is wrong with it. */
export function openDataFolder(layout: DataLayout): OpenedDataFolder {
  ensureWritable(layout);
  refuseLostHistory(layout);
  const swept = sweepLeftovers(layout);
  const db = openDatabase(layout.database);
  let release: () => void;
  try {
    release = markRunning(layout.root);
  } catch (e) {
    db.close();
    throw notWritable(layout.root, e);
  }
  return { db, swept, release };
}
