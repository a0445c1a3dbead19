// The gallery: a virtualized grid over the whole history (only visible rows are in the page; pages are
// fetched as the user scrolls), searchable and filterable, with arrow-key navigation.

import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { AppInfo, ExportState, GenerationSummary, LoraCard, StudioApi } from '../../shared/contract.js';
import { newerExportState } from '../../shared/export-state.js';
import { useI18n } from '../i18n/i18n.js';

export interface GalleryProps {
  readonly api: StudioApi;
  readonly info: AppInfo | undefined;
  readonly loras: readonly LoraCard[];
  /** Changes whenever the history changes, so the view reloads from the top. */
  readonly refreshKey: number;
  onOpen(id: string): void;
  onError(message: string): void;
}

const TILE = 150;
const GAP = 8;
const PAGE = 120;
const OVERSCAN_ROWS = 3;

interface Filters {
  readonly search: string;
  readonly modelId: string;
  readonly seed: string;
  readonly favorites: boolean;
  readonly day: string;
  readonly lora: string;
}

/** The history filters of the gallery, as the contract's query takes them. */
function queryFilters(f: Filters) {
  const seed = f.seed.trim() === '' ? undefined : Number(f.seed);
  const from = f.day ? new Date(`${f.day}T00:00:00`).getTime() : undefined;
  return {
    ...(f.search.trim() ? { search: f.search } : {}),
    ...(f.modelId ? { modelId: f.modelId } : {}),
    ...(seed !== undefined && Number.isInteger(seed) && seed >= 0 ? { seed } : {}),
    ...(f.favorites ? { favorites: true } : {}),
    ...(f.lora ? { lora: f.lora } : {}),
    ...(from !== undefined ? { from, to: from + 86_400_000 } : {}),
  };
}

export function Gallery({ api, info, loras, refreshKey, onOpen, onError }: GalleryProps) {
  const { t, errorText } = useI18n();
  const [filters, setFilters] = useState<Filters>({ search: '', modelId: '', seed: '', favorites: false, day: '', lora: '' });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [items, setItems] = useState<GenerationSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [focus, setFocus] = useState(0);
  const [viewport, setViewport] = useState({ top: 0, height: 600, width: 800 });
  const scroller = useRef<HTMLDivElement>(null);
  const loading = useRef(false);
  const generation = useRef(0);

  const query = useCallback(
    (after: string | null) => api.invoke('history.list', { limit: PAGE, ...queryFilters(filters), ...(after ? { cursor: after } : {}) }),
    [api, filters],
  );
  const [exportKind, setExportKind] = useState<'zip' | 'folder'>('zip');
  const [exporting, setExporting] = useState<ExportState>();
  useEffect(() => api.on('export', (e) => setExporting((cur) => newerExportState(cur, e))), [api]);
  const startExport = async (onlySelected: boolean) => {
    // Named before asking, so its events are recognised even when they overtake the reply.
    const id = crypto.randomUUID();
    setExporting({ id, status: 'running', done: 0, total: 0, kind: exportKind, target: '', revision: -1 });
    const r = await api.invoke('export.start', onlySelected ? { id, ids: [...selected], kind: exportKind } : { id, filters: queryFilters(filters), kind: exportKind });
    if (!r.ok) {
      setExporting(undefined);
      return onError(errorText(r.error));
    }
    setExporting((cur) => newerExportState(cur, r.value));
  };

  // A new search, filter or history change starts over from the newest image.
  useEffect(() => {
    const mine = ++generation.current;
    const timer = setTimeout(async () => {
      loading.current = true;
      const r = await query(null);
      loading.current = false;
      if (mine !== generation.current) return;
      if (!r.ok) return onError(errorText(r.error));
      setItems([...r.value.items]);
      setCursor(r.value.nextCursor);
      setLoaded(true);
      setFocus(0);
      scroller.current?.scrollTo({ top: 0 });
    }, 150);
    return () => clearTimeout(timer);
  }, [query, refreshKey, onError]);

  const columns = Math.max(1, Math.floor((viewport.width + GAP) / (TILE + GAP)));
  const rowHeight = TILE + GAP;
  const rows = Math.ceil(items.length / columns);
  const firstRow = Math.max(0, Math.floor(viewport.top / rowHeight) - OVERSCAN_ROWS);
  const lastRow = Math.min(rows, Math.ceil((viewport.top + viewport.height) / rowHeight) + OVERSCAN_ROWS);
  const visible = items.slice(firstRow * columns, lastRow * columns);

  // Fetch the next page when the visible rows come near the end of what is loaded.
  useEffect(() => {
    if (!cursor || loading.current || lastRow < rows - OVERSCAN_ROWS * 2) return;
    const mine = generation.current;
    loading.current = true;
    void query(cursor).then((r) => {
      loading.current = false;
      if (mine !== generation.current) return;
      if (!r.ok) return onError(errorText(r.error));
      setItems((prev) => [...prev, ...r.value.items]);
      setCursor(r.value.nextCursor);
    });
  }, [cursor, lastRow, rows, query, onError]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setViewport({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    el.addEventListener('scroll', measure, { passive: true });
    return () => {
      observer.disconnect();
      el.removeEventListener('scroll', measure);
    };
  }, []);

  const onKeyDown = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns };
    const move = moves[e.key];
    if (move !== undefined) {
      e.preventDefault();
      const next = Math.min(items.length - 1, Math.max(0, focus + move));
      setFocus(next);
      const row = Math.floor(next / columns);
      const el = scroller.current;
      if (el && (row * rowHeight < el.scrollTop || (row + 1) * rowHeight > el.scrollTop + el.clientHeight)) el.scrollTo({ top: row * rowHeight });
      requestAnimationFrame(() => el?.querySelector<HTMLButtonElement>(`[data-index="${next}"]`)?.focus());
    } else if (e.key === 'Enter' && items[focus]) {
      onOpen(items[focus].id);
    }
  };

  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  return (
    <section className="panel gallery" aria-labelledby="gallery-heading">
      <div className="gallery-head">
        <h2 id="gallery-heading">{t('gallery.heading')}</h2>
        <input type="search" aria-label={t('gallery.search')} placeholder={t('gallery.search')} value={filters.search} onChange={(e) => set({ search: e.target.value })} />
      </div>
      <div className="filters">
        <label>
          {t('export.kind')}
          <select value={exportKind} onChange={(e) => setExportKind(e.target.value as 'zip' | 'folder')}>
            <option value="zip">{t('export.zip')}</option>
            <option value="folder">{t('export.folder')}</option>
          </select>
        </label>
        <button type="button" className="secondary" disabled={exporting?.status === 'running'} onClick={() => void startExport(false)}>
          {t('export.start')}
        </button>
        {selected.size > 0 && (
          <button type="button" className="secondary" disabled={exporting?.status === 'running'} onClick={() => void startExport(true)}>
            {t('export.selected')} ({t('gallery.selected', { count: selected.size })})
          </button>
        )}
        <label>
          {t('gallery.filterModel')}
          <select value={filters.modelId} onChange={(e) => set({ modelId: e.target.value })}>
            <option value="">{t('gallery.allModels')}</option>
            {(info?.models ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('gallery.filterSeed')}
          <input type="number" min={0} value={filters.seed} onChange={(e) => set({ seed: e.target.value })} />
        </label>
        <label>
          {t('gallery.filterDay')}
          <input type="date" value={filters.day} onChange={(e) => set({ day: e.target.value })} />
        </label>
        <label>
          {t('gallery.filterLora')}
          <select value={filters.lora} onChange={(e) => set({ lora: e.target.value })}>
            <option value="">{t('gallery.allLoras')}</option>
            {loras.map((l) => (
              <option key={l.id} value={l.name}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={filters.favorites} onChange={(e) => set({ favorites: e.target.checked })} />
          {t('gallery.favoritesOnly')}
        </label>
      </div>
      {exporting && (
        <div className="export" role="status">
          {exporting.status === 'running' && <progress max={exporting.total || 1} value={exporting.done} aria-label={t('export.progress')} />}
          {exporting.status === 'running' && <span className="meta">{t('export.running', { done: exporting.done, total: exporting.total })}</span>}
          {exporting.status === 'done' && (
            <span className="meta ok">
              {t('export.done', { count: exporting.done, target: exporting.target })}{' '}
              {exporting.url && (
                <a href={exporting.url} download>
                  {t('export.download')}
                </a>
              )}
            </span>
          )}
          {exporting.status === 'failed' && <span className="error">{exporting.error?.message}</span>}
        </div>
      )}
      <p className="tip">{t('gallery.selectHint')}</p>
      {loaded && items.length === 0 && <p className="empty">{filters.search || filters.seed || filters.favorites || filters.modelId || filters.day || filters.lora ? t('gallery.noMatch') : t('gallery.empty')}</p>}
      <div className="grid-scroller" ref={scroller} onKeyDown={onKeyDown}>
        <ul className="grid" aria-label={t('gallery.heading')} style={{ height: rows * rowHeight, gridTemplateColumns: `repeat(${columns}, ${TILE}px)` }}>
          {visible.map((g, i) => {
            const index = firstRow * columns + i;
            return (
              <li key={g.id} style={{ position: 'absolute', top: Math.floor(index / columns) * rowHeight, left: (index % columns) * (TILE + GAP), width: TILE, height: TILE }}>
                <button
                  type="button"
                  className="tile"
                  data-index={index}
                  tabIndex={index === focus ? 0 : -1}
                  aria-pressed={selected.has(g.id)}
                  onClick={(e) => {
                    // Ctrl/Cmd+click selects (for export) instead of opening.
                    if (e.ctrlKey || e.metaKey) {
                      setSelected((cur) => {
                        const next = new Set(cur);
                        if (!next.delete(g.id)) next.add(g.id);
                        return next;
                      });
                    } else onOpen(g.id);
                  }}
                  onFocus={() => setFocus(index)}
                  aria-label={t('gallery.open', { prompt: g.prompt })}
                >
                  <img src={g.thumbUrl} alt="" loading="lazy" />
                  {g.favorite && <span className="star" aria-hidden="true">★</span>}
                </button>
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}
