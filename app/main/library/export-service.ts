// Exports of the gallery as the hosts start them: a folder or a ZIP in the data folder's exports/,
// progress and the end announced as export events.

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportState } from '../../shared/contract.js';
import type { FileUrls } from '../file-urls.js';
import type { HistoryFilters, HistoryService } from '../history/history-service.js';
import { storageError } from '../images/save-image.js';
import { notice } from '../../shared/notices.js';
import { StudioError } from '../../shared/result.js';
import { exportImages } from './export.js';

/** How many of the skipped images an export's end state names (all are counted). */
const SKIPPED_SHOWN = 20;

export class ExportService {
  private readonly listeners = new Set<(e: ExportState) => void>();
  private readonly running = new Set<string>();

  constructor(
    private readonly exportsDir: string,
    private readonly imagesDir: string,
    private readonly history: HistoryService,
    private readonly urls: () => FileUrls,
  ) {}

  onChange(listener: (e: ExportState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts an export of the given ids, or of every image the filters match, under the caller's `id` if it
   * gave one. The work begins on the next turn of the event loop: the state returned here reaches the
   * caller (the host's reply) before any event of the export is sent.
   */
  start(selection: { ids?: readonly string[]; filters?: HistoryFilters }, kind: 'folder' | 'zip', id: string = randomUUID()): ExportState {
    if (this.running.has(id)) throw new StudioError('invalid-request', notice('error.export.idInUse', { id }), id);
    const ids = selection.ids ? [...selection.ids] : this.history.matchingIds(selection.filters ?? {});
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `export-${stamp}-${id.slice(0, 8)}${kind === 'zip' ? '.zip' : ''}`;
    const target = join(this.exportsDir, name);
    let state: ExportState = { id, status: 'running', done: 0, total: ids.length, kind, target, revision: 0, ...(kind === 'zip' ? { url: this.urls().export(name) } : {}) };
    const emit = (patch: Partial<ExportState>) => {
      state = { ...state, ...patch, revision: state.revision + 1 };
      for (const l of this.listeners) l(state);
    };
    this.running.add(id);
    setImmediate(() => {
      void mkdir(this.exportsDir, { recursive: true })
        .then(() => exportImages({ records: this.history.records(ids), total: ids.length, imagesDir: this.imagesDir, kind, target, onProgress: (done) => emit({ done }) }))
        .then(
          (r) => {
            this.running.delete(id);
            emit({ status: 'done', done: r.count, ...(r.skipped.length ? { skipped: r.skipped.length, skippedFiles: r.skipped.slice(0, SKIPPED_SHOWN) } : {}) });
          },
          (e: unknown) => {
            this.running.delete(id);
            emit({ status: 'failed', error: storageError(e, target).toJSON() });
          },
        );
    });
    return state;
  }
}
