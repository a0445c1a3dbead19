// The images of the latest Generate press, in a frame of fixed size: one image fills it, a batch is a grid.
// While a job runs its cell shows the step preview, a progress bar weighted by phase and the time left.

import { useEffect, useState } from 'react';
import type { GenerationSummary } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';
import { estimate, isActive, type JobView, type PhaseTimings } from '../state/jobs.js';

export interface ResultAreaProps {
  /** The jobs of the latest batch, in order. */
  readonly batch: readonly JobView[];
  readonly timings: PhaseTimings | undefined;
  /** Before this window made anything: the newest image of the history, so the frame is not empty after a restart. */
  readonly last?: GenerationSummary | undefined;
  readonly onOpen: (g: GenerationSummary) => void;
  readonly onReuseSeed: (g: GenerationSummary) => void;
  readonly children?: React.ReactNode;
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(performance.now()), 250);
    return () => clearInterval(timer);
  }, [active]);
  return active ? now : performance.now();
}

export function ResultArea({ batch, timings, last, onOpen, onReuseSeed, children }: ResultAreaProps) {
  const { t } = useI18n();
  const now = useNow(batch.some(isActive));
  const columns = Math.ceil(Math.sqrt(batch.length));
  return (
    <section className="result-area panel" aria-label={t('result.heading')}>
      {children}
      {batch.length === 0 && last ? (
        <ul className="result-grid" style={{ gridTemplateColumns: 'minmax(0, 1fr)', gridTemplateRows: 'minmax(0, 1fr)' }}>
          <li className="result-cell succeeded">
            <ResultCell job={{ jobId: last.id, status: 'succeeded', generation: last, phase: 'saving', step: 0, totalSteps: 0, phaseStartedAt: 0, phaseMs: {}, stepMs: [], stepAt: 0 }} now={now} timings={timings} single onOpen={onOpen} onReuseSeed={onReuseSeed} />
          </li>
        </ul>
      ) : batch.length === 0 ? (
        <p className="empty result-empty">{t('result.empty')}</p>
      ) : (
        <ul className="result-grid" style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`, gridTemplateRows: `repeat(${Math.ceil(batch.length / columns)}, minmax(0, 1fr))` }}>
          {batch.map((j) => (
            <li key={j.jobId} className={`result-cell ${j.status}`}>
              <ResultCell job={j} now={now} timings={timings} single={batch.length === 1} onOpen={onOpen} onReuseSeed={onReuseSeed} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ResultCell({ job, now, timings, single, onOpen, onReuseSeed }: { job: JobView; now: number; timings: PhaseTimings | undefined; single: boolean } & Pick<ResultAreaProps, 'onOpen' | 'onReuseSeed'>) {
  const { t, notice, errorText } = useI18n();
  const prompt = job.request?.prompt ?? '';
  if (job.status === 'succeeded' && job.generation) {
    const g = job.generation;
    return (
      <figure>
        <button type="button" className="result-open" onClick={() => onOpen(g)} title={t('result.details')}>
          <img className="result-image" src={g.imageUrl} alt={t('result.alt', { prompt: g.prompt })} />
        </button>
        <figcaption>
          <span>{t('result.caption', { width: g.width, height: g.height, seed: g.seed })}</span>
          {single && (
            <button type="button" className="secondary small" onClick={() => onReuseSeed(g)}>
              {t('result.reuseSeed')}
            </button>
          )}
        </figcaption>
      </figure>
    );
  }
  if (job.status === 'failed') {
    return (
      <div role="alert" className="error cell-message">
        <strong>{t('result.failed')}</strong>
        <p>{job.error ? errorText(job.error) : ''}</p>
      </div>
    );
  }
  if (job.status === 'cancelled') return <p className="cell-message muted">{t('result.cancelled')}</p>;
  const e = estimate(job, now, timings);
  const phase = job.phase === 'denoising' ? t('progress.denoising', { step: job.step, total: job.totalSteps }) : t(`progress.${job.phase}`);
  const left = e.secondsLeft === undefined ? undefined : e.secondsLeft >= 90 ? t('progress.minutesLeft', { minutes: Math.round(e.secondsLeft / 60) }) : t('progress.secondsLeft', { seconds: Math.max(1, Math.round(e.secondsLeft)) });
  return (
    <div className="running">
      {job.preview ? <img className="step-preview" src={job.preview} alt={t('result.previewAlt', { prompt })} data-step={job.step} /> : <div className="step-preview placeholder" />}
      <div className="progress" role="status" aria-live="polite">
        <progress aria-label={t('progress.label')} max={1000} value={Math.round(e.fraction * 1000)} />
        <span>
          {phase}
          {left && ` · ${left}`}
        </span>
        {job.note && <p className="notice job-note">{notice(job.note)}</p>}
      </div>
    </div>
  );
}
