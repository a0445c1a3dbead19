// Models and downloads: the catalog with sizes and what is installed; downloads with progress, speed and
// time left, paused, resumed or cancelled; the source chosen; the free disk space shown before starting.

import { useCallback, useEffect, useState } from 'react';
import type { CatalogItem, DownloadSource, DownloadState, StudioApi } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';

export interface ModelsPanelProps {
  readonly api: StudioApi;
  /** Called when a download has finished, so models and LoRAs are listed again. */
  onInstalled(): void;
  onError(message: string): void;
}

const GB = 1024 ** 3;
const MB = 1024 ** 2;

export function ModelsPanel({ api, onInstalled, onError }: ModelsPanelProps) {
  const { t, errorText, notice } = useI18n();
  const [items, setItems] = useState<readonly CatalogItem[]>([]);
  const [freeBytes, setFreeBytes] = useState(0);
  const [source, setSource] = useState<DownloadSource>('huggingface');
  const [downloads, setDownloads] = useState<Record<string, DownloadState>>({});

  const load = useCallback(async () => {
    const [catalog, running] = await Promise.all([api.invoke('catalog.list', {}), api.invoke('downloads.list', {})]);
    if (!catalog.ok) return onError(errorText(catalog.error));
    setItems(catalog.value.items);
    setFreeBytes(catalog.value.freeBytes);
    if (running.ok) setDownloads(Object.fromEntries(running.value.items.map((d) => [d.entryId, d])));
  }, [api, onError]);

  useEffect(() => {
    void load();
    return api.on('download', (d) => {
      setDownloads((all) => ({ ...all, [d.entryId]: d }));
      if (d.status === 'done') {
        void load();
        onInstalled();
      }
    });
  }, [api, load, onInstalled]);

  const start = async (item: CatalogItem) => {
    const r = await api.invoke('downloads.start', { entryId: item.id, source: item.sources.includes(source) ? source : item.sources[0]! });
    if (!r.ok) return onError(errorText(r.error));
    setDownloads((all) => ({ ...all, [item.id]: r.value }));
  };
  const control = async (d: DownloadState, action: 'pause' | 'resume' | 'cancel') => {
    const r = await api.invoke('downloads.control', { id: d.id, action });
    if (!r.ok) return onError(errorText(r.error));
    setDownloads((all) => ({ ...all, [d.entryId]: r.value }));
  };

  return (
    <section className="panel models" aria-labelledby="models-heading">
      <h2 id="models-heading">{t('models.heading')}</h2>
      <div className="row">
        <label>
          {t('models.source')}
          <select value={source} onChange={(e) => setSource(e.target.value as DownloadSource)}>
            <option value="huggingface">{t('models.source.huggingface')}</option>
            <option value="mirror">{t('models.source.mirror')}</option>
            <option value="modelscope">{t('models.source.modelscope')}</option>
          </select>
        </label>
        <p className="meta">{t('models.free', { gb: (freeBytes / GB).toFixed(1) })}</p>
      </div>
      <ul className="catalog">
        {items.map((item) => {
          const d = downloads[item.id];
          const active = d && (d.status === 'running' || d.status === 'paused');
          const p = d?.progress;
          return (
            <li key={item.id} aria-label={item.title}>
              <div className="catalog-head">
                <strong>{item.title}</strong>
                <span className="meta">
                  {t(`models.kind.${item.kind}`)} · {t('models.size', { gb: (item.approxBytes / GB).toFixed(1) })}
                </span>
                {item.installed && <span className="tag ok">{t('models.installed')}</span>}
                {!item.runnable && <span className="meta">{item.note ? notice(item.note) : t('models.notRunnable')}</span>}
              </div>
              {active && p && (
                <div className="download" role="status">
                  <progress max={p.total || 1} value={p.bytes} aria-label={t('models.progress', { title: item.title })} />
                  <span className="meta">
                    {t('models.bytes', { done: (p.bytes / MB).toFixed(1), total: (p.total / MB).toFixed(1) })} · {t('models.speed', { mbps: (p.speed / MB).toFixed(1) })}
                    {p.etaSeconds !== null && ` · ${t('models.eta', { seconds: Math.ceil(p.etaSeconds) })}`} · {p.file}
                  </span>
                </div>
              )}
              {d?.status === 'paused' && <span className="meta">{t('models.paused')}</span>}
              {d?.status === 'done' && <span className="meta ok">{t('models.done')}</span>}
              {d?.status === 'failed' && (
                <p role="alert" className="error">
                  {d.error?.message}
                </p>
              )}
              <div className="actions">
                {!active && !item.installed && (
                  <button type="button" className="secondary" disabled={!item.runnable} onClick={() => void start(item)}>
                    {t('models.download')}
                  </button>
                )}
                {d?.status === 'running' && (
                  <button type="button" className="secondary" onClick={() => void control(d, 'pause')}>
                    {t('models.pause')}
                  </button>
                )}
                {d?.status === 'paused' && (
                  <button type="button" className="secondary" onClick={() => void control(d, 'resume')}>
                    {t('models.resume')}
                  </button>
                )}
                {active && (
                  <button type="button" className="secondary danger" onClick={() => void control(d, 'cancel')}>
                    {t('models.cancel')}
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
