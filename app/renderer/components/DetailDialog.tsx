// One image with its full recipe, as recorded in the history.

import { samplerSummary } from '../../shared/samplers.js';
import { useEffect, useRef } from 'react';
import type { GenerationDetail, GenerationSummary } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';

export interface DetailDialogProps {
  readonly detail: GenerationDetail;
  /** The other images of the same prompt, to compare seeds. */
  readonly siblings: readonly GenerationSummary[];
  onOpen(id: string): void;
  onClose(): void;
  onUseRecipe(detail: GenerationDetail): void;
  /** Starts a new image from this one (image-to-image). */
  onUseAsInput?(detail: GenerationDetail): void;
  /** Generates the same image again: same seed and settings. */
  onReproduce(detail: GenerationDetail): void;
  onToggleFavorite(detail: GenerationDetail): void;
  onDelete(detail: GenerationDetail): void;
  onReveal(detail: GenerationDetail): void;
  /** Where the file is, when the host could not show it in a file manager. */
  readonly revealedPath?: string;
}

export function DetailDialog({ detail, siblings, onOpen, onClose, onUseRecipe, onUseAsInput, onReproduce, onToggleFavorite, onDelete, onReveal, revealedPath }: DetailDialogProps) {
  const { t, locale } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const r = detail.recipe;
  const rows: [string, string][] = [
    [t('detail.prompt'), r.prompt],
    ...(r.negativePrompt ? ([[t('detail.negative'), r.negativePrompt]] as [string, string][]) : []),
    [t('detail.seed'), String(r.seed)],
    [t('detail.steps'), String(r.steps)],
    [t('detail.guidance'), String(r.guidance)],
    [t('detail.size'), `${r.width} × ${r.height}`],
    [t('detail.model'), `${r.modelName} (${r.modelId})`],
    ...(r.loras.length > 0 ? ([[t('detail.loras'), r.loras.map((l) => `${l.name} (${l.role}, ${l.strength})`).join('\n')]] as [string, string][]) : []),
    [t('detail.sampler'), samplerSummary(r.sampler)],
    [t('detail.device'), r.device],
    [t('detail.created'), new Date(detail.createdAt).toLocaleString(locale)],
    [t('detail.duration'), `${(detail.durations.totalMs / 1000).toFixed(2)} s`],
    [t('detail.hashes'), r.modelHashes.map((h) => `${h.file} ${h.sha256.slice(0, 16)}…`).join('\n')],
  ];
  return (
    <dialog ref={ref} className="detail" aria-labelledby="detail-heading" onClose={onClose}>
      <div className="detail-body">
        <img src={detail.imageUrl} alt={r.prompt} />
        <div>
          <h2 id="detail-heading">{t('detail.heading')}</h2>
          <dl>
            {rows.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
          {siblings.length > 1 && (
            <section aria-label={t('detail.seedHistory')}>
              <h3 className="small-heading">{t('detail.seedHistory')}</h3>
              <ul className="seed-strip">
                {siblings.map((g) => (
                  <li key={g.id}>
                    <button
                      type="button"
                      className={`tile ${g.id === detail.id ? 'current' : ''}`}
                      aria-current={g.id === detail.id}
                      aria-label={t('detail.seedOf', { seed: g.seed })}
                      onClick={() => onOpen(g.id)}
                    >
                      <img src={g.thumbUrl} alt="" loading="lazy" />
                      <span className="seed-label">{g.seed}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          )}
          {revealedPath && <p className="meta">{t('detail.fileAt', { path: revealedPath })}</p>}
          <details>
            <summary>{t('detail.parameters')}</summary>
            <pre>{detail.parameters}</pre>
          </details>
          <div className="actions">
            <button type="button" className="primary" onClick={() => onUseRecipe(detail)}>
              {t('detail.useRecipe')}
            </button>
            <button type="button" className="secondary" onClick={() => onReproduce(detail)}>
              {t('detail.reproduce')}
            </button>
            {onUseAsInput && (
              <button type="button" className="secondary" onClick={() => onUseAsInput(detail)}>
                {t('detail.useAsInput')}
              </button>
            )}
            <button type="button" className="secondary" aria-pressed={detail.favorite} onClick={() => onToggleFavorite(detail)}>
              {detail.favorite ? t('detail.unfavorite') : t('detail.favorite')}
            </button>
            <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(r.prompt)}>
              {t('detail.copyPrompt')}
            </button>
            <button type="button" className="secondary" onClick={() => onReveal(detail)}>
              {t('detail.reveal')}
            </button>
            <button type="button" className="secondary danger" onClick={() => onDelete(detail)}>
              {t('detail.delete')}
            </button>
            <button type="button" className="secondary" onClick={() => ref.current?.close()}>
              {t('detail.close')}
            </button>
          </div>
        </div>
      </div>
    </dialog>
  );
}
