// Opens the history database: WAL, foreign keys, busy timeout, and versioned migrations applied atomically.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { storageError } from '../images/save-image.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

export type Db = Database.Database;

export class DatabaseTooNewError extends StudioError {
  constructor(file: string, found: number, supported: number) {
    super(
      'database-too-new',
      notice('error.databaseTooNew', { file, found, supported }),
      file,
    );
  }
}

export function checkMigrationOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every pending migration in one transaction, setting user_version last. */
export function migrate(db: Db, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  checkMigrationOrder(migrations);
  const current = schemaVersion(db);
  if (current > migrations.length) throw new DatabaseTooNewError(file, current, migrations.length);
  const pending = migrations.slice(current);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) m.up(db);
    db.pragma(`user_version = ${migrations.length}`);
  })();
}

/** The history database is damaged: it is left as it is, and `studio repair` (or the app's Repair) is the way on. */
export class DatabaseCorruptError extends StudioError {
  constructor(file: string, detail: string) {
    super('database-corrupt', notice('error.database.corrupt', { file, detail }), file);
  }
}

const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_INDEX']);

/** Whether an error from better-sqlite3 says the file is not a sound database. */
export function isCorruption(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && CORRUPT_CODES.has(code);
}

/**
 * Checks the pages of the database (PRAGMA quick_check: every b-tree page, cell and freelist, without the
 * slower index-to-table cross-check). A damaged database found at start is reported with a way forward,
 * instead of starting and then failing to save every image.
 */
export function checkIntegrity(db: Db, file: string): void {
  let problems: string[];
  try {
    problems = db.prepare('PRAGMA quick_check(5)').pluck().all() as string[];
  } catch (e) {
    if (isCorruption(e)) throw new DatabaseCorruptError(file, (e as Error).message);
    throw e;
  }
  if (problems.length !== 1 || problems[0] !== 'ok') throw new DatabaseCorruptError(file, problems.join('; '));
}

export interface OpenOptions {
  /** Check every page at start (default true; repair and tests of damaged files turn it off). */
  readonly integrityCheck?: boolean;
}

export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS, options: OpenOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file);
  } catch (e) {
    throw storageError(e, file);
  }
  try {
    // Before anything writes (switching to WAL rewrites the header): a newer or damaged file stays untouched.
    const found = schemaVersion(db);
    if (found > migrations.length) throw new DatabaseTooNewError(file, found, migrations.length);
    if (options.integrityCheck !== false && file !== ':memory:') checkIntegrity(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    migrate(db, file, migrations);
    return db;
  } catch (e) {
    db.close();
    if (e instanceof StudioError) throw e;
    if (isCorruption(e)) throw new DatabaseCorruptError(file, (e as Error).message);
    // A file-system or SQLite failure (permissions, a full disk) is told as such; anything else is a bug.
    if (typeof (e as { code?: unknown }).code === 'string') throw storageError(e, file);
    throw e;
  }
}
