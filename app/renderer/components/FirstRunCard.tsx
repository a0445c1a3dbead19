// The road from the demo to a real picture: what this computer is, which model to run with its download
// size and the planner's time per image here, one button to download it (from the source that suits the
// user's language), or a model folder the user already has.

import { SourceSelect } from './SourceSelect.js';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { AppInfo, CatalogItem, DownloadSource, DownloadState, ModelInfo, StudioApi } from '../../shared/contract.js';
import type { PlanReport } from '../../shared/vram-plan.js';
import { useI18n } from '../i18n/i18n.js';
import { AddFolder } from './AddFolder.js';
import { deviceLine, planLabel } from './plan-text.js';
import { duration, gb } from './units.js';

export interface FirstRunCardProps {
  readonly api: StudioApi;
  readonly info: AppInfo;
  readonly source: DownloadSource;
  readonly onSource: (s: DownloadSource) => void;
  /** A model folder was added: the form switches to it. */
  readonly onModelReady: (modelId: string) => void;
  /** The recommended downloads finished: the form switches to the base model and its speed LoRA. */
  readonly onDownloaded: (baseTitle: string, speedEntryId?: string) => void;
  readonly onUse: (model: ModelInfo) => void;
  readonly onHide: () => void;
  readonly onError: (message: string) => void;
}

const SIZE = 1024;

interface Candidate {
  readonly base: CatalogItem;
  readonly speed: CatalogItem | undefined;
  readonly report: PlanReport;
  /** Predicted seconds per 1024x1024 image with the speed LoRA's steps. */
  readonly seconds: number | undefined;
}

/** The step count a speed LoRA entry was distilled for ("...-4step"), else a base model's usual 30 steps. */
function stepsOf(speed: CatalogItem | undefined): number {
  const m = speed && /(\d+)-?step/.exec(speed.id);
  return m ? Number(m[1]) : 30;
}

export function FirstRunCard({ api, info, source, onSource, onModelReady, onDownloaded, onUse, onHide, onError }: FirstRunCardProps) {
  const { t, errorText, notice } = useI18n();
  const [candidates, setCandidates] = useState<readonly Candidate[]>([]);
  const [downloads, setDownloads] = useState<Record<string, DownloadState>>({});

  useEffect(() => {
    let stale = false;
    void (async () => {
      const catalog = await api.invoke('catalog.list', {});
      if (!catalog.ok || stale) return;
      const bases = catalog.value.items.filter((i) => i.kind === 'base' && i.runnable && i.plannable);
      const found: Candidate[] = [];
      for (const base of bases) {
        const r = await api.invoke('plan.catalog', { entryId: base.id, width: SIZE, height: SIZE });
        if (!r.ok) continue;
        const speed = catalog.value.items.find((i) => i.id === base.speedEntryId);
        const c = r.value.chosen;
        found.push({ base, speed, report: r.value, seconds: c ? c.secondsPerStep * stepsOf(speed) + c.secondsOverhead : undefined });
      }
      if (!stale) setCandidates(found);
    })();
    return () => {
      stale = true;
    };
  }, [api]);

  // The fastest that fits; between equals, the later (newer) entry of the catalog.
  const best = useMemo(() => {
    const fitting = candidates.filter((c) => c.seconds !== undefined);
    const pool = fitting.length > 0 ? fitting : candidates;
    return pool.reduce<Candidate | undefined>((a, c) => (!a || (c.seconds ?? Infinity) <= (a.seconds ?? Infinity) ? c : a), undefined);
  }, [candidates]);
  const device = candidates[0]?.report.device;

  const wanted = useMemo(() => (best ? [best.base, ...(best.speed ? [best.speed] : [])] : []), [best]);
  useEffect(
    () =>
      api.on('download', (d) => {
        if (wanted.some((w) => w.id === d.entryId)) setDownloads((all) => ({ ...all, [d.entryId]: d }));
      }),
    [api, wanted],
  );
  const states = wanted.map((w) => downloads[w.id]);
  const allDone = wanted.length > 0 && states.every((s) => s?.status === 'done');
  const running = states.some((s) => s?.status === 'running' || s?.status === 'paused');
  const failed = states.find((s) => s?.status === 'failed');
  const announced = useRef(false);
  useEffect(() => {
    if (!allDone || !best || announced.current) return;
    announced.current = true;
    onDownloaded(best.base.title, best.speed?.id);
  }, [allDone, best, onDownloaded]);

  const download = async () => {
    for (const item of wanted) {
      if (item.installed) {
        setDownloads((all) => ({ ...all, [item.id]: { id: item.id, entryId: item.id, title: item.title, status: 'done', progress: null } }));
        continue;
      }
      const r = await api.invoke('downloads.start', { entryId: item.id, source: item.sources.includes(source) ? source : item.sources[0]! });
      if (!r.ok) return onError(errorText(r.error));
      setDownloads((all) => ({ ...all, [item.id]: r.value }));
    }
  };

  const found = info.models.filter((m) => !m.isDemo);
  const totalBytes = wanted.reduce((a, w) => a + w.approxBytes, 0);
  const progress = states.reduce((a, s, i) => a + (s?.status === 'done' ? wanted[i]!.approxBytes : (s?.progress?.bytes ?? 0)), 0);
  const chosen = best?.report.chosen;
  return (
    <section className="first-run" aria-labelledby="first-run-heading">
      <div className="panel-head">
        <h2 id="first-run-heading">{t('first.heading')}</h2>
        <button type="button" className="secondary small" onClick={onHide}>
          {t('first.hide')}
        </button>
      </div>
      <p className="device-line">{device ? t('first.device', { device: deviceLine(t, device) }) : t('first.deviceUnknown')}</p>
      {best && (
        <p className="recommendation">
          {chosen && best.seconds !== undefined
            ? t('first.recommend', { model: best.base.title, speed: best.speed?.title ?? '', size: gb(totalBytes), time: duration(t, best.seconds), plan: planLabel(t, notice, chosen) })
            : t('first.noFit')}{' '}
          {chosen && device?.provider === 'cpu' && t('first.slow')}
        </p>
      )}
      {best && (
        <div className="row wrap">
          <SourceSelect label="first.source" source={source} onSource={onSource} />
          <button type="button" className="primary" disabled={running || allDone} onClick={() => void download()}>
            {t('first.download', { size: gb(totalBytes) })}
          </button>
        </div>
      )}
      {running && (
        <div role="status" className="download">
          <progress max={totalBytes} value={progress} aria-label={t('models.progress', { title: best?.base.title ?? '' })} />
          <span className="meta">{t('first.downloading', { title: best?.base.title ?? '', percent: Math.floor((100 * progress) / Math.max(1, totalBytes)) })}</span>
        </div>
      )}
      {failed?.error && (
        <p role="alert" className="error">
          {t('models.failed', { title: failed.title, reason: errorText(failed.error) })}
        </p>
      )}
      <details className="have-folder">
        <summary>{t('first.haveFolder')}</summary>
        <AddFolder api={api} info={info} onAdded={(m) => onModelReady(m.id)} />
      </details>
      {found.length > 0 && (
        <div className="found">
          <p className="meta">{t('first.cacheFound')}</p>
          <ul className="chips">
            {found.map((m) => (
              <li key={m.id}>
                <button type="button" className="secondary small" title={m.path} onClick={() => onUse(m)}>
                  {t('first.useFound', { name: m.name })}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      <p className="tip">{t('first.demo')}</p>
    </section>
  );
}
