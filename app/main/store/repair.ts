// `studio repair` (and the desktop app's Repair): keeps a damaged history database under another name and
// starts a new one holding every row that can still be read from it, row by row, and then every image in
// the images folder that is still missing from it, read back from the recipe embedded in the image file.

import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseA1111Parameters } from '../../shared/a1111-parameters.js';
import type { GenerationDurations, OutputFormat, Recipe } from '../../shared/generation.js';
import { readJpegUserComment } from '../images/jpeg-exif.js';
import { readPngText } from '../images/png-text.js';
import { encodeThumbnail, writeFileAtomic } from '../images/save-image.js';
import type { DataLayout } from '../paths.js';
import { openDatabase, type Db } from './database.js';
import { getGeneration, insertGeneration, recordFromRow, setFavorite } from './generations.js';
import sharp from 'sharp';

export interface RepairReport {
  /** Where the damaged file now is: studio.db.corrupt-<date> (its -wal and -shm beside it). */
  readonly backup: string;
  /** Rows copied into the new database, from the damaged one or from the images' own recipes. */
  readonly recovered: number;
  /** Of those, rows rebuilt from image files (their recipe is embedded; durations are not). */
  readonly fromImages: number;
  /** Rows or images found but unreadable (on a damaged page, a recipe that is not JSON, an image without one). */
  readonly unreadable: number;
}

interface OldRow {
  id: string;
  created_at: number;
  recipe_json: string;
  durations_json: string;
  format: string;
  image_file: string;
  thumb_file: string;
  favorite?: number;
}

/** Stop looking for more rows after this many rowids in a row that hold nothing (past the end). */
const GAP = 10_000;
const NO_DURATIONS: GenerationDurations = { loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, saveMs: 0, totalMs: 0 };
const IMAGE_FILE = /^([0-9a-f-]{36})\.(png|jpg)$/;

function highestRowid(old: Db): number | undefined {
  try {
    return (old.prepare('SELECT max(rowid) FROM generations').pluck().get() as number | null) ?? 0;
  } catch {
    return undefined; // the table's last pages are damaged: probe upwards instead
  }
}

function openBackup(backup: string): Db | undefined {
  for (const readonly of [true, false]) {
    try {
      const db = new Database(backup, { readonly, fileMustExist: true });
      db.prepare('SELECT 1 FROM generations LIMIT 0').all();
      return db;
    } catch {
      // Read-only opening of a WAL database without its -shm can fail; the backup may then be opened for
      // writing (it is only a copy kept for the user now). Past that, nothing can be read from it.
    }
  }
  return undefined;
}

/** Copies every readable row of the damaged database; returns [copied, unreadable]. */
function salvageRows(old: Db, fresh: Db): [number, number] {
  let copied = 0;
  let unreadable = 0;
  const read = old.prepare('SELECT * FROM generations WHERE rowid = ?');
  const max = highestRowid(old);
  const copy = fresh.transaction((row: OldRow) => {
    const record = recordFromRow(row);
    insertGeneration(fresh, record);
    if (row.favorite === 1) setFavorite(fresh, record.id, true);
  });
  let misses = 0;
  for (let rowid = 1; max === undefined ? misses < GAP : rowid <= max; rowid++) {
    let row: OldRow | undefined;
    try {
      row = read.get(rowid) as OldRow | undefined;
    } catch {
      unreadable++;
      continue;
    }
    if (!row) {
      misses++;
      continue;
    }
    misses = 0;
    try {
      copy(row);
      copied++;
    } catch {
      unreadable++;
    }
  }
  return [copied, unreadable];
}

/** The recipe an image file carries in its parameters text (`Studio recipe: {...}`), if it has one. */
export async function embeddedRecipe(file: string): Promise<Recipe | undefined> {
  const bytes = await readFile(file);
  const text = extname(file) === '.png' ? readPngText(bytes).parameters : readJpegUserComment(bytes);
  if (!text) return undefined;
  const json = parseA1111Parameters(text).settings['Studio recipe'];
  if (!json) return undefined;
  try {
    const r = JSON.parse(json) as Partial<Recipe>;
    return typeof r.prompt === 'string' && typeof r.seed === 'number' && typeof r.width === 'number' && Array.isArray(r.loras) ? (r as Recipe) : undefined;
  } catch {
    return undefined;
  }
}

/** Adds a row for every image in the images folder that has none, from its embedded recipe. */
async function reindexImages(layout: DataLayout, fresh: Db): Promise<[number, number]> {
  let added = 0;
  let unreadable = 0;
  for (const day of await readdir(layout.images).catch(() => [] as string[])) {
    for (const name of await readdir(join(layout.images, day)).catch(() => [] as string[])) {
      const m = IMAGE_FILE.exec(name);
      if (!m || getGeneration(fresh, m[1]!)) continue;
      const imageFile = `${day}/${name}`;
      const path = join(layout.images, imageFile);
      try {
        const recipe = await embeddedRecipe(path);
        if (!recipe) {
          unreadable++;
          continue;
        }
        const thumbFile = `${day}/${m[1]}.webp`;
        const thumb = join(layout.thumbs, thumbFile);
        if (!existsSync(thumb)) {
          const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
          await writeFileAtomic(thumb, await encodeThumbnail({ width: info.width, height: info.height, rgb: data }));
        }
        const format: OutputFormat = m[2] === 'png' ? 'png' : 'jpeg95';
        insertGeneration(fresh, { id: m[1]!, createdAt: Math.floor((await stat(path)).mtimeMs), recipe, durations: NO_DURATIONS, format, imageFile, thumbFile });
        added++;
      } catch {
        unreadable++;
      }
    }
  }
  return [added, unreadable];
}

/** Moves the database aside and starts a new one with every readable row and every image that has none. */
export async function repairDatabase(layout: DataLayout, now = new Date()): Promise<RepairReport> {
  const file = layout.database;
  const backup = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  if (existsSync(file)) renameSync(file, backup);
  for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, backup + suffix);
  const fresh = openDatabase(file);
  try {
    const old = existsSync(backup) ? openBackup(backup) : undefined;
    let [copied, unreadable] = [0, 0];
    if (old) {
      try {
        [copied, unreadable] = salvageRows(old, fresh);
      } finally {
        old.close();
      }
    }
    const [fromImages, badImages] = await reindexImages(layout, fresh);
    return { backup, recovered: copied + fromImages, fromImages, unreadable: unreadable + badImages };
  } finally {
    fresh.close();
  }
}
