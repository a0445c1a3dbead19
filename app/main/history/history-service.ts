// The history as the hosts see it: pages of summaries, one image's full recipe, favourites, deletion,
// with stored file names turned into the host's URLs.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatA1111Parameters } from '../../shared/a1111-parameters.js';
import type { GenerationDetail, GenerationSummary, HistoryPage, HistoryQuery } from '../../shared/contract.js';
import type { GenerationRecord } from '../../shared/generation.js';
import { StudioError } from '../../shared/result.js';
import { notice } from '../../shared/notices.js';
import type { FileUrls } from '../file-urls.js';
import type { DataLayout } from '../paths.js';
import type { Db } from '../store/database.js';
import { deleteGeneration, getGeneration, isFavorite, listGenerations, setFavorite, type HistoryRow } from '../store/generations.js';
import { HistoryReader } from './history-reader.js';

export type HistoryFilters = Omit<HistoryQuery, 'limit' | 'cursor'>;

function gone(id: string): StudioError {
  return new StudioError('not-found', notice('error.imageGone'), id);
}

export class HistoryService {
  private readonly reader: HistoryReader;

  constructor(
    private readonly db: Db,
    private readonly layout: DataLayout,
    private readonly urls: () => FileUrls,
  ) {
    this.reader = new HistoryReader(db, layout.database);
  }

  summaryOf(g: GenerationRecord | HistoryRow): GenerationSummary {
    const favorite = 'favorite' in g ? g.favorite : false;
    const base =
      'recipe' in g
        ? { prompt: g.recipe.prompt, seed: g.recipe.seed, steps: g.recipe.steps, width: g.recipe.width, height: g.recipe.height, modelId: g.recipe.modelId }
        : { prompt: g.prompt, seed: g.seed, steps: g.steps, width: g.width, height: g.height, modelId: g.modelId };
    return { id: g.id, createdAt: g.createdAt, ...base, favorite, imageUrl: this.urls().image(g.imageFile), thumbUrl: this.urls().thumb(g.thumbFile) };
  }

  /** A page, read here on the main connection: for the studio's own short lookups (CLI, the A1111 API). */
  list(q: HistoryQuery): HistoryPage {
    const { rows, nextCursor } = listGenerations(this.db, q);
    return { items: rows.map((r) => this.summaryOf(r)), nextCursor };
  }

  /**
   * A page for a host's renderer, read on the history thread: searches that match every row cost a few
   * milliseconds each, and a flood of them must not hold up anything else the main thread does.
   */
  async page(q: HistoryQuery): Promise<HistoryPage> {
    const { rows, nextCursor } = await this.reader.list(q);
    return { items: rows.map((r) => this.summaryOf(r)), nextCursor };
  }

  /**
   * How many images the filters match, exactly, also for 100,000: one COUNT with the page's own WHERE, on
   * the history thread (the renderer asks only when the first page did not hold every match).
   */
  count(filters: HistoryFilters): Promise<{ count: number }> {
    return this.reader.count(filters).then((count) => ({ count }));
  }

  /** Stops the history thread (the studio is closing). */
  close(): Promise<void> {
    return this.reader.close();
  }

  get(id: string): GenerationDetail {
    const g = getGeneration(this.db, id);
    if (!g) throw gone(id);
    return { ...g, favorite: isFavorite(this.db, id), imageUrl: this.urls().image(g.imageFile), thumbUrl: this.urls().thumb(g.thumbFile), parameters: formatA1111Parameters(g.recipe) };
  }

  /** The records of these ids that still exist, read one at a time (an export of 100,000 stays small). */
  *records(ids: readonly string[]): Generator<GenerationRecord> {
    for (const id of ids) {
      const g = getGeneration(this.db, id);
      if (g) yield g;
    }
  }

  /** Every id the filters match, newest first. */
  matchingIds(filters: HistoryFilters): string[] {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = listGenerations(this.db, { ...filters, limit: 500, ...(cursor ? { cursor } : {}) });
      ids.push(...page.rows.map((r) => r.id));
      if (!page.nextCursor) return ids;
      cursor = page.nextCursor;
    }
  }

  /** The absolute path of an image of the history. */
  imagePath(id: string): string {
    const g = getGeneration(this.db, id);
    if (!g) throw gone(id);
    return join(this.layout.images, g.imageFile);
  }

  /** The absolute path of an image's thumbnail. */
  thumbPath(id: string): string {
    const g = getGeneration(this.db, id);
    if (!g) throw gone(id);
    return join(this.layout.thumbs, g.thumbFile);
  }

  setFavorite(id: string, favorite: boolean): { favorite: boolean } {
    if (!setFavorite(this.db, id, favorite)) throw gone(id);
    return { favorite };
  }

  /**
   * Removes an image from the history. `trash` (the Electron host's shell.trashItem) moves its file to the
   * system trash; without one the file is deleted, which the UI confirms with the user first.
   */
  async delete(id: string, trash?: (file: string) => Promise<void>): Promise<{ deleted: boolean; trashed: boolean }> {
    const g = getGeneration(this.db, id);
    if (!g) return { deleted: false, trashed: false };
    const image = join(this.layout.images, g.imageFile);
    if (trash) await trash(image);
    else await rm(image, { force: true });
    await rm(join(this.layout.thumbs, g.thumbFile), { force: true });
    deleteGeneration(this.db, id);
    return { deleted: true, trashed: trash !== undefined };
  }
}
