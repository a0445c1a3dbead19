// Schema 2: favourites, and the seeds of one prompt, each filterable without a scan.

import type { Migration } from './index.js';

export const migration0002: Migration = {
  version: 2,
  name: '0002-favorites',
  up(db) {
    db.exec(`
      ALTER TABLE generations ADD COLUMN favorite INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX generations_favorites ON generations (favorite, created_at DESC, id DESC) WHERE favorite = 1;
      -- The seed history of one prompt: all its images, newest first.
      CREATE INDEX generations_by_prompt ON generations (prompt, created_at DESC, id DESC);
    `);
  },
};
