// The image being made: progress while running, the picture when done, the reason when it failed.

import { useI18n } from '../i18n/i18n.js';
import type { JobView } from '../state/job-state.js';
import type { GenerationSummary } from '../../shared/contract.js';

export function ResultView({ job, onReuse }: { job: JobView; onReuse(g: GenerationSummary): void }) {
  const { t, errorText, notice } = useI18n();
  return (
    <section className="panel result" aria-labelledby="result-heading">
      <h2 id="result-heading">{t('result.heading')}</h2>
      {job.status === 'idle' && <p className="empty">{t('result.empty')}</p>}
      {job.status === 'running' && (
        <div className="progress" role="status" aria-live="polite">
          <progress
            aria-label={t('progress.denoising', { step: job.progress.step, total: job.progress.totalSteps })}
            max={job.progress.totalSteps || 1}
            value={job.progress.step}
          />
          <span>
            {job.progress.phase === 'denoising'
              ? t('progress.denoising', { step: job.progress.step, total: job.progress.totalSteps })
              : t(`progress.${job.progress.phase}`)}
          </span>
          {job.progress.note && <p className="notice job-note">{notice(job.progress.note)}</p>}
        </div>
      )}
      {job.status === 'succeeded' && (
        <figure>
          <img className="result-image" src={job.generation.imageUrl} alt={t('result.alt', { prompt: job.generation.prompt })} />
          <figcaption>
            {t('result.caption', { width: job.generation.width, height: job.generation.height, seed: job.generation.seed })}{' '}
            <button type="button" className="secondary small" onClick={() => onReuse(job.generation)}>
              {t('result.reuseSeed')}
            </button>
          </figcaption>
        </figure>
      )}
      {job.status === 'failed' && (
        <div role="alert" className="error">
          <strong>{t('result.failed')}</strong>
          <p>{errorText(job.error)}</p>
        </div>
      )}
      {job.status === 'cancelled' && <p role="status">{t('result.cancelled')}</p>}
    </section>
  );
}
