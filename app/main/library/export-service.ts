// Exports of the gallery as the hosts start them: a folder or a ZIP in the data folder's exports/,
// progress and the end announced as export events.

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportState } from '../../shared/contract.js';
import type { FileUrls } from '../file-urls.js';
import type { HistoryFilters, HistoryService } from '../history/history-service.js';
import { storageError } from '../images/save-image.js';
import { exportImages } from './export.js';

export class ExportService {
  private readonly listeners = new Set<(e: ExportState) => void>();

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

  /** Starts an export of the given ids, or of every image the filters match. */
  start(selection: { ids?: readonly string[]; filters?: HistoryFilters }, kind: 'folder' | 'zip'): ExportState {
    const ids = selection.ids ? [...selection.ids] : this.history.matchingIds(selection.filters ?? {});
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `export-${stamp}${kind === 'zip' ? '.zip' : ''}`;
    const target = join(this.exportsDir, name);
    let state: ExportState = { id: randomUUID(), status: 'running', done: 0, total: ids.length, kind, target, ...(kind === 'zip' ? { url: this.urls().export(name) } : {}) };
    const emit = (patch: Partial<ExportState>) => {
      state = { ...state, ...patch };
      for (const l of this.listeners) l(state);
    };
    void mkdir(this.exportsDir, { recursive: true })
      .then(() => exportImages({ records: this.history.records(ids), total: ids.length, imagesDir: this.imagesDir, kind, target, onProgress: (done) => emit({ done }) }))
      .then(
        (r) => emit({ status: 'done', done: r.count }),
        (e: unknown) => emit({ status: 'failed', error: storageError(e, target).toJSON() }),
      );
    return state;
  }
}
