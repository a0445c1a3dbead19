// Opens the history database: WAL, foreign keys, busy timeout, and versioned migrations applied atomically.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
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

export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // Before anything writes (switching to WAL rewrites the header): a newer file must stay untouched.
    const found = schemaVersion(db);
    if (found > migrations.length) throw new DatabaseTooNewError(file, found, migrations.length);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    migrate(db, file, migrations);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
