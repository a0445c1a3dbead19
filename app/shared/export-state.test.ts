import { describe, expect, it } from 'vitest';
import type { ExportState } from './contract.js';
import { newerExportState } from './export-state.js';

const id = '00000000-0000-4000-8000-000000000001';
const state = (revision: number, patch: Partial<ExportState> = {}): ExportState => ({ id, status: 'running', done: 0, total: 3, kind: 'zip', target: '/x/export.zip', revision, ...patch });

describe('the export state the renderer shows', () => {
  it('keeps the end when the events overtake the export.start reply', () => {
    let shown: ExportState | undefined = state(-1, { total: 0, target: '' }); // named before asking
    for (const e of [state(1, { done: 1 }), state(2, { done: 3 }), state(3, { status: 'done', done: 3 })]) shown = newerExportState(shown, e);
    shown = newerExportState(shown, state(0)); // the reply, last
    expect(shown).toMatchObject({ status: 'done', done: 3, revision: 3 });
  });

  it('takes the reply and then each newer event in the usual order, and ignores other exports', () => {
    let shown: ExportState | undefined = newerExportState(state(-1), state(0));
    shown = newerExportState(shown, state(1, { done: 2 }));
    expect(shown).toMatchObject({ done: 2, revision: 1 });
    expect(newerExportState(shown, { ...state(9, { status: 'failed' }), id: '00000000-0000-4000-8000-000000000002' })).toBe(shown);
    expect(newerExportState(undefined, state(1))).toBeUndefined();
  });
});
