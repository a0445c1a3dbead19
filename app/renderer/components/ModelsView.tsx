// Models and downloads: what is installed and where it came from, a folder the user already has, and the
// catalog with sizes, the download source (chosen by language, switchable), free space, and downloads with
// progress, speed and time left, paused, resumed or cancelled.

import { SourceSelect } from './SourceSelect.js';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import type { AppInfo, CatalogItem, DownloadSource, DownloadState, ModelInfo, StudioApi } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';
import { AddFolder } from './AddFolder.js';
import { gb, MB, modelName } from './units.js';

export interface ModelsViewProps {
  readonly api: StudioApi;
  readonly info: AppInfo | undefined;
  readonly source: DownloadSource;
  readonly onSource: (s: DownloadSource) => void;
  /** Called when a download has finished or a folder was added, so models and LoRAs are listed again. */
  readonly onInstalled: (model?: ModelInfo) => void;
  readonly onError: (message: string) => void;
  /** More settings, shown below (the A1111 API). */
  readonly children?: ReactNode;
}

export function ModelsView({ api, info, source, onSource, onInstalled, onError, children }: ModelsViewProps) {
  const { t, errorText, notice } = useI18n();
  const [items, setItems] = useState<readonly CatalogItem[]>([]);
  const [freeBytes, setFreeBytes] = useState(0);
  const [modelsDir, setModelsDir] = useState('');
  const [downloads, setDownloads] = useState<Record<string, DownloadState>>({});

  const load = useCallback(async () => {
    const [catalog, running] = await Promise.all([api.invoke('catalog.list', {}), api.invoke('downloads.list', {})]);
    if (!catalog.ok) return onError(errorText(catalog.error));
    setItems(catalog.value.items);
    setFreeBytes(catalog.value.freeBytes);
    setModelsDir(catalog.value.modelsDir);
    if (running.ok) setDownloads(Object.fromEntries(running.value.items.map((d) => [d.entryId, d])));
  }, [api, onError, errorText]);

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
    <section className="models-view" aria-labelledby="models-heading">
      <h2 id="models-heading" className="view-heading">
        {t('models.heading')}
      </h2>
      <div className="models-columns">
        <section className="panel" aria-labelledby="installed-heading">
          <h3 id="installed-heading">{t('models.installedHeading')}</h3>
          <ul className="installed">
            {(info?.models ?? []).map((m) => (
              <li key={m.id}>
                <strong>{modelName(t, m)}</strong>
                <span className="meta">{t(`models.origin.${m.origin ?? 'folder'}`)}</span>
                {m.path && <span className="meta path" title={m.path}>{m.path}</span>}
              </li>
            ))}
          </ul>
          <h3>{t('first.haveFolder')}</h3>
          {info && <AddFolder api={api} info={info} onAdded={(m) => onInstalled(m)} />}
        </section>
        <section className="panel catalog-panel" aria-labelledby="catalog-heading">
          <h3 id="catalog-heading">{t('models.catalogHeading')}</h3>
          <div className="row wrap">
            <SourceSelect label="models.source" source={source} onSource={onSource} />
            <p className="meta">{t('models.free', { gb: gb(freeBytes), dir: modelsDir })}</p>
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
                      {t(`models.kind.${item.kind}`)} · {t('models.size', { gb: gb(item.approxBytes) })}
                    </span>
                    {item.installed && <span className="tag ok">{t('models.installed')}</span>}
                    {item.note && <span className="meta">{notice(item.note)}</span>}
                    {!item.runnable && !item.note && <span className="meta">{t('models.notRunnable')}</span>}
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
                  {d?.status === 'failed' && d.error && (
                    <p role="alert" className="error">
                      {t('models.failed', { title: item.title, reason: errorText(d.error) })}
                    </p>
                  )}
                  <div className="actions">
                    {!active && !item.installed && item.runnable && d?.status !== 'failed' && (
                      <button type="button" className="secondary" aria-label={t('models.downloadNamed', { title: item.title })} onClick={() => void start(item)}>
                        {t('models.download')}
                      </button>
                    )}
                    {d?.status === 'running' && (
                      <button type="button" className="secondary" aria-label={t('models.pauseNamed', { title: item.title })} onClick={() => void control(d, 'pause')}>
                        {t('models.pause')}
                      </button>
                    )}
                    {(d?.status === 'paused' || d?.status === 'failed') && (
                      <button type="button" className="secondary" aria-label={t('models.resumeNamed', { title: item.title })} onClick={() => void control(d, 'resume')}>
                        {t('models.resume')}
                      </button>
                    )}
                    {active && (
                      <button type="button" className="secondary danger" aria-label={t('models.cancelNamed', { title: item.title })} onClick={() => void control(d, 'cancel')}>
                        {t('models.cancel')}
                      </button>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
        </section>
      </div>
      {children}
    </section>
  );
}
