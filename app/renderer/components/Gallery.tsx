// The gallery: thumbnails of past generations from the history, newest first, searchable, paged.

import { useCallback, useEffect, useState } from 'react';
import type { GenerationSummary, StudioApi } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';

export interface GalleryProps {
  readonly api: StudioApi;
  /** Changes whenever a new image is saved, so the first page is reloaded. */
  readonly refreshKey: number;
  onOpen(id: string): void;
  onError(message: string): void;
}

export function Gallery({ api, refreshKey, onOpen, onError }: GalleryProps) {
  const { t } = useI18n();
  const [search, setSearch] = useState('');
  const [items, setItems] = useState<GenerationSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);

  const load = useCallback(
    async (after: string | null, query: string) => {
      const r = await api.invoke('history.list', { limit: 60, ...(query.trim() ? { search: query } : {}), ...(after ? { cursor: after } : {}) });
      if (!r.ok) return onError(r.error.message);
      setItems((prev) => (after ? [...prev, ...r.value.items] : [...r.value.items]));
      setCursor(r.value.nextCursor);
      setLoaded(true);
    },
    [api, onError],
  );

  useEffect(() => {
    const timer = setTimeout(() => void load(null, search), 150);
    return () => clearTimeout(timer);
  }, [load, search, refreshKey]);

  return (
    <section className="panel gallery" aria-labelledby="gallery-heading">
      <div className="gallery-head">
        <h2 id="gallery-heading">{t('gallery.heading')}</h2>
        <input type="search" aria-label={t('gallery.search')} placeholder={t('gallery.search')} value={search} onChange={(e) => setSearch(e.target.value)} />
      </div>
      {loaded && items.length === 0 && <p className="empty">{search ? t('gallery.noMatch') : t('gallery.empty')}</p>}
      <ul className="grid" aria-label={t('gallery.heading')}>
        {items.map((g) => (
          <li key={g.id}>
            <button type="button" className="tile" onClick={() => onOpen(g.id)} aria-label={t('gallery.open', { prompt: g.prompt })}>
              <img src={g.thumbUrl} alt="" loading="lazy" width={g.width} height={g.height} />
            </button>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" className="secondary" onClick={() => void load(cursor, search)}>
          {t('gallery.more')}
        </button>
      )}
    </section>
  );
}
