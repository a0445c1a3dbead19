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
       recipe_json, durations_json, format, image_file, thumb_file, lora_names)
     VALUES (@id, @createdAt, @prompt, @negativePrompt, @seed, @steps, @guidance, @width, @height, @modelId,
       @recipeJson, @durationsJson, @format, @imageFile, @thumbFile, @loraNames)`,
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
    loraNames: r.loras.map((l) => l.name).join(' '),
  });
}

/** The record a stored row holds (the columns a record is read back from; repair reads them from a damaged file). */
export function recordFromRow(row: Pick<Row, 'id' | 'created_at' | 'recipe_json' | 'durations_json' | 'format' | 'image_file' | 'thumb_file'>): GenerationRecord {
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
  return row && recordFromRow(row);
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

/** FTS5 trigram matching needs three characters; shorter words fall back to a LIKE scan. */
const MIN_FTS_CHARS = 3;
/** Words beyond this many are ignored: a pasted paragraph is not a search. */
const MAX_SEARCH_WORDS = 16;
/**
 * A search whose indexed sets all hold more rows than this is read along the time index, each row
 * checked against them (a page is soon found); otherwise the smallest set drives the query and its few
 * rows are sorted. Either way a search costs milliseconds at 100,000 rows, where reading and sorting
 * every match of a common word cost ~90 ms.
 */
export const DENSE_MATCHES = 2000;

/**
 * The words of a search, each to be found somewhere in the image's record: separated by white space, or a
 * "quoted phrase" kept whole (found as it is, as text only: "variation 42" does not mean seed 42).
 */
export function searchTerms(search: string | undefined): { text: string; quoted: boolean }[] {
  const terms: { text: string; quoted: boolean }[] = [];
  for (const m of (search ?? '').matchAll(/"([^"]+)"|(\S+)/gu)) {
    if (m[1] !== undefined && m[1].trim() !== '') terms.push({ text: m[1].trim(), quoted: true });
    else if (m[2] !== undefined) terms.push({ text: m[2], quoted: false });
  }
  return terms.slice(0, MAX_SEARCH_WORDS);
}

/** The words of a search (see searchTerms), without their quoting. */
export function searchWords(search: string | undefined): string[] {
  return searchTerms(search).map((t) => t.text);
}

const ftsPhrase = (word: string) => `"${word.replaceAll('"', '""')}"`;
const likePattern = (word: string) => `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
const isSeedWord = (word: string) => /^\d{1,10}$/.test(word) && Number(word) <= 0xffff_ffff;

/**
 * A set of rows an indexed search word selects, in two forms: `members` lists their rowids (to drive the
 * query, or to be read once and probed), `test` checks one row `g` (to filter rows found another way).
 */
export interface WordSet {
  readonly members: string;
  readonly test: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * How a search is answered. Every word must be found: in the prompt, the negative prompt or a LoRA name
 * (any order, any script), and a word of digits may instead be the seed; a "quoted phrase" is found
 * as it is. Words of three characters or more go through the trigram index (`sets`); shorter ones are
 * checked row by row (`filters`).
 */
export function searchPlan(search: string | undefined): { sets: WordSet[]; filters: { sql: string; params: Record<string, unknown> }[] } {
  const terms = searchTerms(search);
  const sets: WordSet[] = [];
  const filters: { sql: string; params: Record<string, unknown> }[] = [];
  const isNumber = (t: { text: string; quoted: boolean }) => !t.quoted && /^\d+$/.test(t.text);
  const textLike = (i: number) => `(g.prompt LIKE @l${i} ESCAPE '\\' OR g.negative_prompt LIKE @l${i} ESCAPE '\\' OR g.lora_names LIKE @l${i} ESCAPE '\\')`;
  const ftsWords = terms.filter((t) => [...t.text].length >= MIN_FTS_CHARS && !isNumber(t)).map((t) => t.text);
  if (ftsWords.length) {
    const params = { m: ftsWords.map(ftsPhrase).join(' AND ') };
    sets.push({
      members: 'SELECT rowid FROM generations_fts WHERE generations_fts MATCH @m',
      test: 'EXISTS (SELECT 1 FROM generations_fts WHERE generations_fts MATCH @m AND rowid = g.rowid)',
      params,
    });
  }
  terms.forEach((term, i) => {
    const word = term.text;
    if (!isNumber(term)) {
      if ([...word].length < MIN_FTS_CHARS) filters.push({ sql: textLike(i), params: { [`l${i}`]: likePattern(word) } });
      return;
    }
    const seed = isSeedWord(word) ? { [`s${i}`]: Number(word) } : undefined;
    if (word.length < MIN_FTS_CHARS) {
      filters.push({ sql: seed ? `(g.seed = @s${i} OR ${textLike(i)})` : textLike(i), params: { [`l${i}`]: likePattern(word), ...seed } });
      return;
    }
    const fts = `SELECT rowid FROM generations_fts WHERE generations_fts MATCH @w${i}`;
    sets.push({
      members: seed ? `SELECT rowid FROM generations WHERE seed = @s${i} UNION ${fts}` : fts,
      test: `(${seed ? `g.seed = @s${i} OR ` : ''}EXISTS (${fts} AND rowid = g.rowid))`,
      params: { [`w${i}`]: ftsPhrase(word), ...seed },
    });
  });
  return { sets, filters };
}

export interface ListPlan {
  /** How many rows each of the search's sets holds, up to DENSE_MATCHES + 1 (see `planFor`). */
  readonly setSizes?: readonly number[];
}

/** The filters of a history query: what a page and a count share (a count has no page size or cursor). */
export type HistoryFilterQuery = Omit<HistoryQuery, 'limit' | 'cursor'>;

/** The WHERE terms and parameters of a search with its filters (see searchPlan and planFor). */
function filterTerms(q: HistoryFilterQuery, plan: ListPlan): { where: string[]; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const { sets, filters } = searchPlan(q.search);
  // The smallest set that is not dense drives the query; the others test each of its rows.
  const sizes = plan.setSizes ?? sets.map(() => DENSE_MATCHES + 1);
  let driver = -1;
  sets.forEach((_, i) => {
    if (sizes[i]! <= DENSE_MATCHES && (driver < 0 || sizes[i]! < sizes[driver]!)) driver = i;
  });
  sets.forEach((set, i) => {
    Object.assign(params, set.params);
    if (i === driver) where.push(`g.rowid IN (${set.members})`);
    else if (driver >= 0) where.push(set.test);
    // All dense: walk the time index; each set is read once into a lookup table (the unary + keeps
    // SQLite from driving the query by it).
    else where.push(`+g.rowid IN (${set.members})`);
  });
  for (const f of filters) {
    where.push(f.sql);
    Object.assign(params, f.params);
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
  return { where, params };
}

/** The SQL and parameters of a history page: newest first, keyset-paginated, with search and filters. */
export function buildListQuery(q: HistoryQuery, plan: ListPlan = {}): { sql: string; params: Record<string, unknown> } {
  const { where, params } = filterTerms(q, plan);
  params.limit = q.limit + 1;
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
  if (cursor) {
    where.push('(g.created_at < @cAt OR (g.created_at = @cAt AND g.id < @cId))');
    params.cAt = cursor.createdAt;
    params.cId = cursor.id;
  }
  const sql = `SELECT g.id, g.created_at, g.prompt, g.seed, g.steps, g.width, g.height, g.model_id, g.image_file, g.thumb_file, g.favorite
    FROM generations g ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY g.created_at DESC, g.id DESC LIMIT @limit`;
  return { sql, params };
}

/**
 * The SQL of how many images a search and filters match, exactly: the WHERE of a page (the same rows, the
 * same plan: a rare word's matches drive it, a common word's are one lookup table), without order or limit.
 */
export function buildCountQuery(q: HistoryFilterQuery, plan: ListPlan = {}): { sql: string; params: Record<string, unknown> } {
  const { where, params } = filterTerms(q, plan);
  return { sql: `SELECT count(*) FROM generations g ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`, params };
}

/** How many images the search and filters match (the gallery's count), exactly. */
export function countMatching(db: Db, q: HistoryFilterQuery): number {
  const { sql, params } = buildCountQuery(q, planFor(db, q));
  return db.prepare(sql).pluck().get(params) as number;
}

/** The query plan of a count, so tests can pin it to its indexes. */
export function explainCountQuery(db: Db, q: HistoryFilterQuery): string {
  const { sql, params } = buildCountQuery(q, planFor(db, q));
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail).join('\n');
}

/** How many rows each of a search's sets holds, counted up to DENSE_MATCHES + 1: cheap looks at the index. */
export function planFor(db: Db, q: HistoryFilterQuery | HistoryQuery): ListPlan {
  const { sets } = searchPlan(q.search);
  if (sets.length === 0) return {};
  return { setSizes: sets.map((set) => db.prepare(`SELECT count(*) FROM (${set.members} LIMIT ${DENSE_MATCHES + 1})`).pluck().get(set.params) as number) };
}

export function listGenerations(db: Db, q: HistoryQuery): { rows: HistoryRow[]; nextCursor: string | null } {
  const { sql, params } = buildListQuery(q, planFor(db, q));
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
export function explainListQuery(db: Db, q: HistoryQuery, plan: ListPlan = planFor(db, q)): string {
  const { sql, params } = buildListQuery(q, plan);
  const steps = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[];
  return steps.map((p) => p.detail).join('\n');
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
