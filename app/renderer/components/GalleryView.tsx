// The gallery: a virtualized grid over the whole history (only visible rows are in the page; pages are
// fetched as the user scrolls), searched and filtered by the studio, with a selection mode (checkboxes,
// Shift-range, select all, Esc clears) and an export toolbar of its own. Tiles drag out as full-size files.

import { useCallback, useEffect, useLayoutEffect, useRef, useState, type DragEvent, type KeyboardEvent, type MouseEvent } from 'react';
import type { AppInfo, ExportState, GenerationSummary, LoraCard, StudioApi } from '../../shared/contract.js';
import { newerExportState } from '../../shared/export-state.js';
import { parseSeed } from '../../shared/generation.js';
import { useI18n } from '../i18n/i18n.js';
import { modelName } from './units.js';

export interface GalleryViewProps {
  readonly api: StudioApi;
  readonly info: AppInfo | undefined;
  readonly loras: readonly LoraCard[];
  /** Changes whenever the history changes, so the view reloads from the top. */
  readonly refreshKey: number;
  /** Opens an image; `ids` is the list it was opened from (for previous/next). */
  readonly onOpen: (id: string, ids: readonly string[]) => void;
  readonly onError: (message: string) => void;
}

const GAP = 8;
const PAGE = 120;
const OVERSCAN_ROWS = 3;
const TILE_KEY = 'studio.tileSize';
/** The drag type that marks a tile dragged from this window, so dropping it back is not an import. */
export const STUDIO_DRAG_TYPE = 'application/x-studio-image';

interface Filters {
  readonly search: string;
  readonly modelId: string;
  readonly seed: string;
  readonly favorites: boolean;
  readonly day: string;
  readonly lora: string;
}

const NO_FILTERS: Filters = { search: '', modelId: '', seed: '', favorites: false, day: '', lora: '' };

/** The history filters of the gallery, as the contract's query takes them. */
function queryFilters(f: Filters) {
  const seed = parseSeed(f.seed);
  const from = f.day ? new Date(`${f.day}T00:00:00`).getTime() : undefined;
  return {
    ...(f.search.trim() ? { search: f.search } : {}),
    ...(f.modelId ? { modelId: f.modelId } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(f.favorites ? { favorites: true } : {}),
    ...(f.lora ? { lora: f.lora } : {}),
    ...(from !== undefined ? { from, to: from + 86_400_000 } : {}),
  };
}

/** A file name for an image dragged out of the window. */
function fileNameOf(g: GenerationSummary): string {
  const ext = /\.(png|jpe?g)(\?|$)/i.exec(g.imageUrl)?.[1] ?? 'jpg';
  return `studio-${g.seed}-${g.id.slice(0, 8)}.${ext}`;
}

export function GalleryView({ api, info, loras, refreshKey, onOpen, onError }: GalleryViewProps) {
  const { t, errorText, locale } = useI18n();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [items, setItems] = useState<GenerationSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  /** How many images the filters match, exactly; undefined while the studio counts them. */
  const [total, setTotal] = useState<number>();
  const [loaded, setLoaded] = useState(false);
  const [focus, setFocus] = useState(0);
  const [tile, setTile] = useState(() => Number(localStorage.getItem(TILE_KEY)) || 150);
  const [viewport, setViewport] = useState({ top: 0, height: 600, width: 800 });
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  /** Everything the filters match is selected (more than is loaded). */
  const [allSelected, setAllSelected] = useState(false);
  const anchor = useRef<number | undefined>(undefined);
  const scroller = useRef<HTMLDivElement>(null);
  const loading = useRef(false);
  const generation = useRef(0);

  const query = useCallback((after: string | null) => api.invoke('history.list', { limit: PAGE, ...queryFilters(filters), ...(after ? { cursor: after } : {}) }), [api, filters]);
  const [exportKind, setExportKind] = useState<'zip' | 'folder'>('zip');
  const [exporting, setExporting] = useState<ExportState>();
  useEffect(() => api.on('export', (e) => setExporting((cur) => newerExportState(cur, e))), [api]);
  const startExport = async (onlySelected: boolean) => {
    // Named before asking, so its events are recognised even when they overtake the reply.
    const id = crypto.randomUUID();
    setExporting({ id, status: 'running', done: 0, total: 0, kind: exportKind, target: '', revision: -1 });
    const r = await api.invoke('export.start', onlySelected && !allSelected ? { id, ids: [...selected], kind: exportKind } : { id, filters: queryFilters(filters), kind: exportKind });
    if (!r.ok) {
      setExporting(undefined);
      return onError(errorText(r.error));
    }
    setExporting((cur) => newerExportState(cur, r.value));
  };
  const clearSelection = useCallback(() => {
    setSelected(new Set());
    setAllSelected(false);
    anchor.current = undefined;
  }, []);

  // A new search, filter or history change starts over from the newest image; a selection made under
  // other filters does not survive unseen.
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
      // One page holds every match: that is the count. Otherwise the studio counts them (one COUNT query).
      if (!r.value.nextCursor) return setTotal(r.value.items.length);
      setTotal(undefined);
      const counted = await api.invoke('history.count', queryFilters(filters));
      if (mine !== generation.current) return;
      if (!counted.ok) return onError(errorText(counted.error));
      setTotal(counted.value.count);
    }, 150);
    return () => clearTimeout(timer);
  }, [api, filters, query, refreshKey, onError, errorText]);
  useEffect(() => clearSelection(), [filters, clearSelection]);
  // Images that left the history leave the selection too.
  useEffect(() => {
    setSelected((cur) => {
      if (cur.size === 0) return cur;
      const ids = new Set(items.map((g) => g.id));
      const kept = [...cur].filter((id) => ids.has(id));
      return kept.length === cur.size ? cur : new Set(kept);
    });
  }, [items]);

  const columns = Math.max(1, Math.floor((viewport.width + GAP) / (tile + GAP)));
  const rowHeight = tile + GAP;
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
  }, [cursor, lastRow, rows, query, onError, errorText]);

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

  // Esc clears the selection (then leaves selection mode).
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== 'Escape' || document.querySelector('dialog[open]')) return;
      if (selected.size > 0 || allSelected) clearSelection();
      else if (selecting) setSelecting(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selected, allSelected, selecting, clearSelection]);

  const ids = useCallback(() => items.map((g) => g.id), [items]);
  const toggle = (index: number, range: boolean) => {
    const g = items[index];
    if (!g) return;
    setAllSelected(false);
    setSelected((cur) => {
      const next = new Set(allSelected ? items.map((x) => x.id) : cur);
      if (range && anchor.current !== undefined) {
        const [a, b] = [Math.min(anchor.current, index), Math.max(anchor.current, index)];
        for (let i = a; i <= b; i++) next.add(items[i]!.id);
      } else if (!next.delete(g.id)) next.add(g.id);
      return next;
    });
    if (!range) anchor.current = index;
  };
  const isSelected = (id: string) => allSelected || selected.has(id);

  const focusTile = (next: number) => {
    setFocus(next);
    const row = Math.floor(next / columns);
    const el = scroller.current;
    if (el && (row * rowHeight < el.scrollTop || (row + 1) * rowHeight > el.scrollTop + el.clientHeight)) el.scrollTo({ top: row * rowHeight });
    requestAnimationFrame(() => el?.querySelector<HTMLButtonElement>(`[data-index="${next}"]`)?.focus());
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, Home: -Infinity, End: Infinity };
    const move = moves[e.key];
    if (move !== undefined) {
      e.preventDefault();
      const next = Math.min(items.length - 1, Math.max(0, focus + move));
      if (e.shiftKey && selecting) {
        anchor.current ??= focus;
        toggle(next, true);
      }
      focusTile(next);
    } else if (e.key === ' ' && selecting) {
      e.preventDefault();
      toggle(focus, e.shiftKey);
    } else if (e.key === 'a' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      setSelecting(true);
      setAllSelected(true);
    }
  };
  const onTileClick = (e: MouseEvent, index: number, g: GenerationSummary) => {
    // In selection mode (or with Ctrl/Cmd, or Shift) a click selects; otherwise it opens the image.
    if (selecting || e.ctrlKey || e.metaKey || e.shiftKey) {
      if (!selecting) setSelecting(true);
      toggle(index, e.shiftKey);
    } else onOpen(g.id, ids());
  };
  const onDragStart = (e: DragEvent, g: GenerationSummary) => {
    // The full-size file, not the thumbnail: Chromium saves a DownloadURL where it is dropped.
    const url = new URL(g.imageUrl, location.href).href;
    const type = url.endsWith('.png') ? 'image/png' : 'image/jpeg';
    e.dataTransfer.effectAllowed = 'copy';
    e.dataTransfer.setData('DownloadURL', `${type}:${fileNameOf(g)}:${url}`);
    e.dataTransfer.setData('text/uri-list', url);
    e.dataTransfer.setData(STUDIO_DRAG_TYPE, g.id);
  };

  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const number = new Intl.NumberFormat(locale);
  const count = total === undefined ? t('gallery.counting', { count: number.format(items.length) }) : total === 1 ? t('gallery.countOne') : t('gallery.count', { count: number.format(total) });
  const selectedCount = allSelected ? (total ?? items.length) : selected.size;
  return (
    <section className="gallery-view" aria-labelledby="gallery-heading">
      <div className="toolbar panel">
        <h2 id="gallery-heading" className="visually-hidden">
          {t('gallery.heading')}
        </h2>
        <input type="search" className="search" aria-label={t('gallery.search')} placeholder={t('gallery.search')} value={filters.search} onChange={(e) => set({ search: e.target.value })} />
        <label>
          {t('gallery.filterModel')}
          <select value={filters.modelId} onChange={(e) => set({ modelId: e.target.value })}>
            <option value="">{t('gallery.allModels')}</option>
            {(info?.models ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {modelName(t, m)}
              </option>
            ))}
          </select>
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
        <label className="narrow">
          {t('gallery.filterSeed')}
          <input type="text" inputMode="numeric" value={filters.seed} onChange={(e) => set({ seed: e.target.value })} />
        </label>
        <label>
          {t('gallery.filterDay')}
          <input type="date" value={filters.day} onChange={(e) => set({ day: e.target.value })} />
        </label>
        <label className="check">
          <input type="checkbox" checked={filters.favorites} onChange={(e) => set({ favorites: e.target.checked })} />
          {t('gallery.favoritesOnly')}
        </label>
        <label className="narrow">
          {t('gallery.tileSize')}
          <input
            type="range"
            min={96}
            max={320}
            step={8}
            value={tile}
            onChange={(e) => {
              setTile(Number(e.target.value));
              localStorage.setItem(TILE_KEY, e.target.value);
            }}
          />
        </label>
        <span className="meta count" role="status">
          {loaded ? count : ''}
        </span>
      </div>
      <div className="toolbar panel export-bar" role="toolbar" aria-label={t('export.toolbar')}>
        <button type="button" className="secondary" aria-pressed={selecting} onClick={() => (selecting ? (setSelecting(false), clearSelection()) : setSelecting(true))}>
          {selecting ? t('gallery.selectDone') : t('gallery.select')}
        </button>
        {selecting && (
          <>
            <span className="meta selected-count" aria-live="polite">
              {allSelected ? t('gallery.allSelected', { count: total === undefined ? t('gallery.countingShort', { count: number.format(items.length) }) : number.format(total) }) : t('gallery.selected', { count: number.format(selectedCount) })}
            </span>
            <button type="button" className="secondary" onClick={() => setAllSelected(true)}>
              {t('gallery.selectAll')}
            </button>
            <button type="button" className="secondary" disabled={selectedCount === 0} onClick={clearSelection}>
              {t('gallery.clear')}
            </button>
          </>
        )}
        <span className="spacer" />
        <label className="inline">
          {t('export.kind')}
          <select value={exportKind} onChange={(e) => setExportKind(e.target.value as 'zip' | 'folder')}>
            <option value="zip">{t('export.zip')}</option>
            <option value="folder">{t('export.folder')}</option>
          </select>
        </label>
        {selecting && (
          <button type="button" className="primary" disabled={selectedCount === 0 || exporting?.status === 'running'} onClick={() => void startExport(true)}>
            {t('export.selected')}
          </button>
        )}
        <button type="button" className="secondary" disabled={items.length === 0 || exporting?.status === 'running'} onClick={() => void startExport(false)}>
          {t('export.view')}
        </button>
      </div>
      {exporting && (
        <div className="export-status" role="status">
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
          {exporting.status === 'failed' && exporting.error && <span className="error">{errorText(exporting.error)}</span>}
        </div>
      )}
      {selecting && <p className="tip">{t('gallery.selectHint')}</p>}
      {loaded && items.length === 0 && <p className="empty">{filtered ? t('gallery.noMatch') : t('gallery.empty')}</p>}
      <div className="grid-scroller" ref={scroller} onKeyDown={onKeyDown}>
        <ul className={`grid ${selecting ? 'selecting' : ''}`} aria-label={t('gallery.heading')} aria-multiselectable={selecting || undefined} style={{ height: rows * rowHeight }}>
          {visible.map((g, i) => {
            const index = firstRow * columns + i;
            const chosen = isSelected(g.id);
            return (
              <li key={g.id} style={{ position: 'absolute', top: Math.floor(index / columns) * rowHeight, left: (index % columns) * (tile + GAP), width: tile, height: tile }}>
                <button
                  type="button"
                  className="tile"
                  data-index={index}
                  tabIndex={index === focus ? 0 : -1}
                  draggable
                  onDragStart={(e) => onDragStart(e, g)}
                  {...(selecting ? { 'aria-pressed': chosen } : {})}
                  onClick={(e) => onTileClick(e, index, g)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' && !selecting) {
                      e.preventDefault();
                      onOpen(g.id, ids());
                    }
                  }}
                  onFocus={() => setFocus(index)}
                  aria-label={selecting ? t('gallery.choose', { prompt: g.prompt }) : t('gallery.open', { prompt: g.prompt })}
                  title={g.prompt}
                >
                  <img src={g.thumbUrl} alt="" loading="lazy" draggable={false} />
                  {selecting && <span className={`check-mark ${chosen ? 'on' : ''}`} aria-hidden="true" />}
                  {g.favorite && (
                    <span className="star" aria-hidden="true">
                      ★
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}
