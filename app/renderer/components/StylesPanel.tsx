// The LoRA library as cards, and what happened to the files the user dropped.

import type { ImportOutcome, LoraCard } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';

export interface StylesPanelProps {
  readonly loras: readonly LoraCard[];
  readonly outcomes: readonly ImportOutcome[];
  readonly importing: number;
}

export function StylesPanel({ loras, outcomes, importing }: StylesPanelProps) {
  const { t, errorText } = useI18n();
  return (
    <section className="panel styles" aria-labelledby="styles-heading">
      <h2 id="styles-heading">{t('styles.heading')}</h2>
      <p className="tip">{t('styles.dropHint')}</p>
      {importing > 0 && <p role="status">{t('styles.importing', { count: importing })}</p>}
      {outcomes.length > 0 && (
        <ul className="outcomes" aria-label={t('styles.heading')}>
          {outcomes.map((o, i) => (
            <li key={`${o.file}-${i}`} role={o.ok ? 'status' : 'alert'} className={o.ok ? 'ok' : 'error'}>
              {o.ok ? t(o.duplicate ? 'styles.duplicate' : 'styles.imported', { file: o.file }) : t('styles.refused', { file: o.file, reason: errorText(o.error) })}
            </li>
          ))}
        </ul>
      )}
      {loras.length === 0 && <p className="empty">{t('styles.empty')}</p>}
      <ul className="cards">
        {loras.map((l) => (
          <li key={l.id} className={`card ${l.runnable ? '' : 'disabled'}`} aria-label={l.name}>
            {l.previewUrl && <img src={l.previewUrl} alt="" />}
            <strong>{l.name}</strong>
            <span className={`tag ${l.role}`}>{l.preset?.label ?? t(l.role === 'speed' ? 'styles.speed' : 'styles.style')}</span>
            <span className="meta">
              {l.runnable ? t('styles.rank', { rank: l.rank }) : t('styles.notRunnable', { architecture: l.architecture })}
            </span>
            {l.triggerWords.length > 0 && <span className="meta">{t('styles.triggers', { words: l.triggerWords.join(', ') })}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
