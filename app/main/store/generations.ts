// Queries over the generations table, as plain functions of (db, ...args).

import type { GenerationDurations, GenerationRecord, OutputFormat, Recipe } from '../../shared/generation.js';
import type { HistoryQuery } from '../../shared/contract.js';
import type { Db } from './database.js';

interface Row {
  id: string;
  created_at: number;
  prompt: string;
  negative_prompt: string;
  seed: number;
  steps: number;
  width: number;
  height: number;
  model_id: string;
  recipe_json: string;
  durations_json: string;
  format: string;
  image_file: string;
  thumb_file: string;
  favorite: number;
}

export function insertGeneration(db: Db, g: GenerationRecord): void {
  const r = g.recipe;
  db.prepare(
    `INSERT INTO generations (id, created_at, prompt, negative_prompt, seed, steps, guidance, width, height, model_id,
       recipe_json, durations_json, format, image_file, thumb_file)
     VALUES (@id, @createdAt, @prompt, @negativePrompt, @seed, @steps, @guidance, @width, @height, @modelId,
       @recipeJson, @durationsJson, @format, @imageFile, @thumbFile)`,
  ).run({
    id: g.id,
    createdAt: g.createdAt,
    prompt: r.prompt,
    negativePrompt: r.negativePrompt,
    seed: r.seed,
    steps: r.steps,
    guidance: r.guidance,
    width: r.width,
    height: r.height,
    modelId: r.modelId,
    recipeJson: JSON.stringify(r),
    durationsJson: JSON.stringify(g.durations),
    format: g.format,
    imageFile: g.imageFile,
    thumbFile: g.thumbFile,
  });
}

function toRecord(row: Row): GenerationRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    recipe: JSON.parse(row.recipe_json) as Recipe,
    durations: JSON.parse(row.durations_json) as GenerationDurations,
    format: row.format as OutputFormat,
    imageFile: row.image_file,
    thumbFile: row.thumb_file,
  };
}

export function getGeneration(db: Db, id: string): GenerationRecord | undefined {
  const row = db.prepare('SELECT * FROM generations WHERE id = ?').get(id) as Row | undefined;
  return row && toRecord(row);
}

export function countGenerations(db: Db): number {
  return (db.prepare('SELECT count(*) AS n FROM generations').get() as { n: number }).n;
}

export interface HistoryRow {
  readonly id: string;
  readonly favorite: boolean;
  readonly createdAt: number;
  readonly prompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly width: number;
  readonly height: number;
  readonly modelId: string;
  readonly imageFile: string;
  readonly thumbFile: string;
}

export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } | undefined {
  const m = /^(\d+):([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? { createdAt: Number(m[1]), id: m[2]! } : undefined;
}

/** FTS5 trigram matching needs three characters; shorter searches fall back to a LIKE scan. */
const MIN_FTS_CHARS = 3;

/** The SQL and parameters of a history page: newest first, keyset-paginated, with search and filters. */
export function buildListQuery(q: HistoryQuery): { sql: string; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: q.limit + 1 };
  let from = 'generations g';
  const search = q.search?.trim() ?? '';
  if (search !== '') {
    if ([...search].length >= MIN_FTS_CHARS) {
      from = 'generations_fts f JOIN generations g ON g.rowid = f.rowid';
      where.push('generations_fts MATCH @match');
      params.match = `"${search.replaceAll('"', '""')}"`;
    } else {
      where.push(`(g.prompt LIKE @like ESCAPE '\\' OR g.negative_prompt LIKE @like ESCAPE '\\')`);
      params.like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
  }
  if (q.modelId) {
    where.push('g.model_id = @modelId');
    params.modelId = q.modelId;
  }
  if (q.seed !== undefined) {
    where.push('g.seed = @seed');
    params.seed = q.seed;
  }
  if (q.favorites) where.push('g.favorite = 1');
  if (q.lora) {
    // LoRAs live in the recipe JSON; their names are matched as JSON strings.
    where.push(`g.recipe_json LIKE @lora ESCAPE '\\'`);
    params.lora = `%"name":${JSON.stringify(q.lora).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  if (q.prompt !== undefined) {
    where.push('g.prompt = @prompt');
    params.prompt = q.prompt;
  }
  if (q.from !== undefined) {
    where.push('g.created_at >= @from');
    params.from = q.from;
  }
  if (q.to !== undefined) {
    where.push('g.created_at < @to');
    params.to = q.to;
  }
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
  if (cursor) {
    where.push('(g.created_at < @cAt OR (g.created_at = @cAt AND g.id < @cId))');
    params.cAt = cursor.createdAt;
    params.cId = cursor.id;
  }
  const sql = `SELECT g.id, g.created_at, g.prompt, g.seed, g.steps, g.width, g.height, g.model_id, g.image_file, g.thumb_file, g.favorite
    FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY g.created_at DESC, g.id DESC LIMIT @limit`;
  return { sql, params };
}

export function listGenerations(db: Db, q: HistoryQuery): { rows: HistoryRow[]; nextCursor: string | null } {
  const { sql, params } = buildListQuery(q);
  const raw = db.prepare(sql).all(params) as Row[];
  const hasMore = raw.length > q.limit;
  const rows = raw.slice(0, q.limit).map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    prompt: r.prompt,
    seed: r.seed,
    steps: r.steps,
    width: r.width,
    height: r.height,
    modelId: r.model_id,
    imageFile: r.image_file,
    thumbFile: r.thumb_file,
    favorite: r.favorite === 1,
  }));
  const last = rows[rows.length - 1];
  return { rows, nextCursor: hasMore && last ? encodeCursor(last.createdAt, last.id) : null };
}

/** The query plan of a history page, so tests can pin the hot queries to their indexes. */
export function explainListQuery(db: Db, q: HistoryQuery): string {
  const { sql, params } = buildListQuery(q);
  const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[];
  return plan.map((p) => p.detail).join('\n');
}

export function isFavorite(db: Db, id: string): boolean {
  return (db.prepare('SELECT favorite FROM generations WHERE id = ?').get(id) as { favorite: number } | undefined)?.favorite === 1;
}

export function setFavorite(db: Db, id: string, favorite: boolean): boolean {
  return db.prepare('UPDATE generations SET favorite = ? WHERE id = ?').run(favorite ? 1 : 0, id).changes === 1;
}

export function deleteGeneration(db: Db, id: string): boolean {
  return db.prepare('DELETE FROM generations WHERE id = ?').run(id).changes === 1;
}
