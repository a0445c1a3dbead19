// Beside the result: the queue (what runs and what waits, each cancellable) and the recent images.

import type { GenerationSummary, QueueItem } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';

export interface SidePanelProps {
  readonly queue: readonly QueueItem[];
  readonly recent: readonly GenerationSummary[];
  readonly onCancel: (jobId: string) => void;
  readonly onCancelAll: () => void;
  readonly onOpen: (g: GenerationSummary) => void;
  readonly onGallery: () => void;
}

export function SidePanel({ queue, recent, onCancel, onCancelAll, onOpen, onGallery }: SidePanelProps) {
  const { t } = useI18n();
  return (
    <aside className="side-panel">
      <section className="panel queue" aria-labelledby="queue-heading">
        <div className="panel-head">
          <h2 id="queue-heading">{t('queue.heading')}</h2>
          {queue.length > 1 && (
            <button type="button" className="secondary small" onClick={onCancelAll}>
              {t('queue.cancelAll')}
            </button>
          )}
        </div>
        {queue.length === 0 ? (
          <p className="empty">{t('queue.empty')}</p>
        ) : (
          <ol className="queue-list" aria-label={t('queue.heading')}>
            {queue.map((q) => (
              <li key={q.jobId} className={q.running ? 'running' : 'waiting'} aria-label={q.request.prompt}>
                <span className={`tag ${q.running ? 'ok' : ''}`}>{q.running ? t('queue.running') : t('queue.waiting')}</span>
                <span className="queue-prompt">{q.request.prompt}</span>
                <span className="meta">{t('queue.item', { width: q.request.width, height: q.request.height, steps: q.request.steps })}</span>
                <button type="button" className="secondary small" aria-label={t('queue.cancelJob', { prompt: q.request.prompt })} onClick={() => onCancel(q.jobId)}>
                  {t('queue.cancel')}
                </button>
              </li>
            ))}
          </ol>
        )}
      </section>
      <section className="panel recent" aria-labelledby="recent-heading">
        <div className="panel-head">
          <h2 id="recent-heading">{t('recent.heading')}</h2>
          <button type="button" className="link" onClick={onGallery}>
            {t('recent.all')}
          </button>
        </div>
        {recent.length === 0 ? (
          <p className="empty">{t('recent.empty')}</p>
        ) : (
          <ul className="recent-list" aria-label={t('recent.heading')}>
            {recent.map((g) => (
              <li key={g.id}>
                <button type="button" className="tile" aria-label={t('gallery.open', { prompt: g.prompt })} title={g.prompt} onClick={() => onOpen(g)}>
                  <img src={g.thumbUrl} alt="" loading="lazy" />
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </aside>
  );
}
