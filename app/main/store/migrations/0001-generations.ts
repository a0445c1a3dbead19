// Schema 1: one row per saved image with its full recipe, and a trigram index over prompts.

import type { Migration } from './index.js';

export const migration0001: Migration = {
  version: 1,
  name: '0001-generations',
  up(db) {
    db.exec(`
      CREATE TABLE generations (
        id TEXT PRIMARY KEY NOT NULL,
        created_at INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        negative_prompt TEXT NOT NULL DEFAULT '',
        seed INTEGER NOT NULL,
        steps INTEGER NOT NULL,
        guidance REAL NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        model_id TEXT NOT NULL,
        recipe_json TEXT NOT NULL,
        durations_json TEXT NOT NULL,
        format TEXT NOT NULL,
        image_file TEXT NOT NULL,
        thumb_file TEXT NOT NULL
      );
      CREATE INDEX generations_by_time ON generations (created_at DESC, id DESC);
      CREATE INDEX generations_by_model ON generations (model_id, created_at DESC, id DESC);
      CREATE INDEX generations_by_seed ON generations (seed);

      -- Trigram tokens find substrings in any script, Chinese included (words are not space-separated).
      CREATE VIRTUAL TABLE generations_fts USING fts5(
        prompt, negative_prompt, content = 'generations', content_rowid = 'rowid', tokenize = 'trigram'
      );
      CREATE TRIGGER generations_fts_insert AFTER INSERT ON generations BEGIN
        INSERT INTO generations_fts (rowid, prompt, negative_prompt) VALUES (new.rowid, new.prompt, new.negative_prompt);
      END;
      CREATE TRIGGER generations_fts_delete AFTER DELETE ON generations BEGIN
        INSERT INTO generations_fts (generations_fts, rowid, prompt, negative_prompt)
          VALUES ('delete', old.rowid, old.prompt, old.negative_prompt);
      END;
      CREATE TRIGGER generations_fts_update AFTER UPDATE OF prompt, negative_prompt ON generations BEGIN
        INSERT INTO generations_fts (generations_fts, rowid, prompt, negative_prompt)
          VALUES ('delete', old.rowid, old.prompt, old.negative_prompt);
        INSERT INTO generations_fts (rowid, prompt, negative_prompt) VALUES (new.rowid, new.prompt, new.negative_prompt);
      END;

      CREATE TABLE file_hashes (
        path TEXT PRIMARY KEY NOT NULL,
        bytes INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        sha256 TEXT NOT NULL
      );
    `);
  },
};
