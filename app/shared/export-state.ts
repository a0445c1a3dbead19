// Which of two states of an export the renderer shows, whatever order the reply and the events came in.

import type { ExportState } from './contract.js';

/**
 * The export state to show: `next` if it is about the export shown and not older than what is shown.
 * The renderer names its export (export.start's `id`) before asking, so events that overtake the reply
 * are about a known export, and the reply, arriving last, does not undo them.
 */
export function newerExportState(shown: ExportState | undefined, next: ExportState): ExportState | undefined {
  if (!shown || shown.id !== next.id) return shown;
  return next.revision >= shown.revision ? next : shown;
}
