// Schema 3: the names of an image's LoRAs in their own column and in the search index, so a search
// finds images by style as well as by prompt.

import type { Migration } from './index.js';

export const migration0003: Migration = {
  version: 3,
  name: '0003-search-loras',
  up(db) {
    db.exec(`
      ALTER TABLE generations ADD COLUMN lora_names TEXT NOT NULL DEFAULT '';
      -- A recipe that is not valid JSON keeps no names rather than stopping the upgrade.
      UPDATE generations SET lora_names = CASE WHEN json_valid(recipe_json)
        THEN coalesce((SELECT group_concat(json_extract(value, '$.name'), ' ') FROM json_each(generations.recipe_json, '$.loras')), '')
        ELSE '' END;

      DROP TRIGGER generations_fts_insert;
      DROP TRIGGER generations_fts_delete;
      DROP TRIGGER generations_fts_update;
      DROP TABLE generations_fts;
      CREATE VIRTUAL TABLE generations_fts USING fts5(
        prompt, negative_prompt, lora_names, content = 'generations', content_rowid = 'rowid', tokenize = 'trigram'
      );
      INSERT INTO generations_fts (generations_fts) VALUES ('rebuild');
      CREATE TRIGGER generations_fts_insert AFTER INSERT ON generations BEGIN
        INSERT INTO generations_fts (rowid, prompt, negative_prompt, lora_names) VALUES (new.rowid, new.prompt, new.negative_prompt, new.lora_names);
      END;
      CREATE TRIGGER generations_fts_delete AFTER DELETE ON generations BEGIN
        INSERT INTO generations_fts (generations_fts, rowid, prompt, negative_prompt, lora_names)
          VALUES ('delete', old.rowid, old.prompt, old.negative_prompt, old.lora_names);
      END;
      CREATE TRIGGER generations_fts_update AFTER UPDATE OF prompt, negative_prompt, lora_names ON generations BEGIN
        INSERT INTO generations_fts (generations_fts, rowid, prompt, negative_prompt, lora_names)
          VALUES ('delete', old.rowid, old.prompt, old.negative_prompt, old.lora_names);
        INSERT INTO generations_fts (rowid, prompt, negative_prompt, lora_names) VALUES (new.rowid, new.prompt, new.negative_prompt, new.lora_names);
      END;
    `);
  },
};
