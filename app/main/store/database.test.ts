import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { checkMigrationOrder, openDatabase, schemaVersion } from './database.js';
import { MIGRATIONS } from './migrations/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'studio-db-'));

describe('openDatabase', () => {
  it('creates the schema in WAL mode with foreign keys and a busy timeout', () => {
    const file = join(tmp(), 'studio.db');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['generations', 'generations_fts', 'file_hashes']));
    db.close();
  });

  it('reopens an existing database without reapplying migrations', () => {
    const file = join(tmp(), 'studio.db');
    openDatabase(file).close();
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    db.close();
  });

  it('refuses a database from a newer version and leaves the file untouched', () => {
    const file = join(tmp(), 'studio.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.exec('CREATE TABLE future (x)');
    raw.close();
    const before = readFileSync(file);
    expect(() => openDatabase(file)).toThrow(`written by a newer version of the studio (schema ${MIGRATIONS.length + 1}; this version knows up to ${MIGRATIONS.length})`);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('applies all pending migrations in one transaction: a failing one leaves the schema as it was', () => {
    const file = join(tmp(), 'studio.db');
    const failing = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', up: () => { throw new Error('boom'); } }];
    expect(() => openDatabase(file, failing)).toThrow('boom');
    const copy = join(tmp(), 'copy.db');
    copyFileSync(file, copy);
    const db = new Database(copy);
    expect(schemaVersion(db)).toBe(0);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'generations'").pluck().get()).toBe(0);
    db.close();
  });

  it('upgrades a version-1 database, keeping its rows (0002 adds favourites)', () => {
    const file = join(tmp(), 'studio.db');
    openDatabase(file, MIGRATIONS.slice(0, 1)).close();
    const v1 = new Database(file);
    v1.prepare(
      `INSERT INTO generations (id, created_at, prompt, seed, steps, guidance, width, height, model_id, recipe_json, durations_json, format, image_file, thumb_file)
       VALUES ('00000000-0000-4000-8000-000000000001', 1, 'a fox', 7, 4, 1, 512, 512, 'demo', '{}', '{}', 'png', 'a.png', 'a.webp')`,
    ).run();
    v1.close();
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.prepare('SELECT prompt, favorite, lora_names FROM generations').get()).toEqual({ prompt: 'a fox', favorite: 0, lora_names: '' });
    db.close();
  });

  it('0003 indexes the LoRA names of existing rows for search, and survives a recipe that is not JSON', () => {
    const file = join(tmp(), 'studio.db');
    openDatabase(file, MIGRATIONS.slice(0, 2)).close();
    const v2 = new Database(file);
    const insert = v2.prepare(
      `INSERT INTO generations (id, created_at, prompt, seed, steps, guidance, width, height, model_id, recipe_json, durations_json, format, image_file, thumb_file)
       VALUES (?, ?, ?, 7, 4, 1, 512, 512, 'demo', ?, '{}', 'png', 'a.png', 'a.webp')`,
    );
    insert.run('00000000-0000-4000-8000-000000000001', 1, 'a fox', JSON.stringify({ loras: [{ name: 'Ink Wash' }, { name: 'Qwen-Image-Lightning-4steps' }] }));
    insert.run('00000000-0000-4000-8000-000000000002', 2, 'a whale', '{"loras": [');
    v2.close();
    const db = openDatabase(file);
    expect(db.prepare('SELECT lora_names FROM generations ORDER BY created_at').pluck().all()).toEqual(['Ink Wash Qwen-Image-Lightning-4steps', '']);
    expect(db.prepare("SELECT rowid FROM generations_fts WHERE generations_fts MATCH '\"lightning\"'").pluck().all()).toEqual([1]);
    expect(db.prepare("SELECT rowid FROM generations_fts WHERE generations_fts MATCH '\"whale\"'").pluck().all()).toEqual([2]);
    db.close();
  });

  it('checks that the registry is in order', () => {
    expect(() => checkMigrationOrder([{ version: 2, name: 'x', up: () => undefined }])).toThrow(/expected 1/);
    expect(() => checkMigrationOrder(MIGRATIONS)).not.toThrow();
  });
});
