// One image with its recipe as recorded in the history: what a person reads first (prompt, seed, size,
// model, styles), the hashes and the embedded parameters folded under "technical", previous and next
// through the list it was opened from, and the actions in a bar that stays in view.

import { useEffect, useRef } from 'react';
import type { GenerationDetail, GenerationSummary } from '../../shared/contract.js';
import { samplerSummary } from '../../shared/samplers.js';
import { useI18n } from '../i18n/i18n.js';

export interface DetailDialogProps {
  readonly detail: GenerationDetail;
  /** The other images of the same prompt, to compare seeds. */
  readonly siblings: readonly GenerationSummary[];
  /** Where this image is in the list it was opened from, and how long that list is. */
  readonly position: { readonly index: number; readonly count: number } | undefined;
  readonly onPrevious: () => void;
  readonly onNext: () => void;
  readonly onOpen: (id: string) => void;
  readonly onClose: () => void;
  readonly onUseRecipe: (detail: GenerationDetail) => void;
  /** Starts a new image from this one (image-to-image), for models that take an input image. */
  readonly onUseAsInput?: (detail: GenerationDetail) => void;
  /** Generates the same image again: same seed and settings. */
  readonly onReproduce: (detail: GenerationDetail) => void;
  readonly onToggleFavorite: (detail: GenerationDetail) => void;
  readonly onDelete: (detail: GenerationDetail) => void;
  readonly onReveal: (detail: GenerationDetail) => void;
  /** Where the file is, when the host could not show it in a file manager. */
  readonly revealedPath?: string;
}

export function DetailDialog(props: DetailDialogProps) {
  const { detail, siblings, position, onPrevious, onNext, onOpen, onClose, onUseRecipe, onUseAsInput, onReproduce, onToggleFavorite, onDelete, onReveal, revealedPath } = props;
  const { t, locale } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const hasPrevious = position !== undefined && position.index > 0;
  const hasNext = position !== undefined && position.index < position.count - 1;
  const r = detail.recipe;
  const rows: [string, string][] = [
    [t('detail.prompt'), r.prompt],
    ...(r.negativePrompt ? ([[t('detail.negative'), r.negativePrompt]] as [string, string][]) : []),
    [t('detail.seed'), String(r.seed)],
    [t('detail.size'), `${r.width} × ${r.height}`],
    [t('detail.steps'), String(r.steps)],
    [t('detail.guidance'), String(r.guidance)],
    [t('detail.model'), r.modelName],
    ...(r.loras.length > 0
      ? ([[t('detail.loras'), r.loras.map((l) => t('detail.lora', { name: l.name, role: t(`detail.role.${l.role}`), strength: l.strength })).join('\n')]] as [string, string][])
      : []),
    // Image-to-image: where it started from (an image of the history, or a file the CLI was given) and how much was repainted.
    ...(r.initImage
      ? ([[t('detail.input'), /^[0-9a-f-]{36}$/.test(r.initImage.source) ? t('detail.inputHistory', { strength: r.initImage.strength }) : t('detail.inputFile', { name: r.initImage.source, strength: r.initImage.strength })]] as [string, string][])
      : []),
    [t('detail.format'), t(`create.format.${detail.format}`)],
    [t('detail.created'), new Date(detail.createdAt).toLocaleString(locale)],
    [t('detail.duration'), t('detail.durationValue', { seconds: (detail.durations.totalMs / 1000).toFixed(2) })],
  ];
  const technical: [string, string][] = [
    [t('detail.sampler'), samplerSummary(r.sampler)],
    [t('detail.device'), r.device],
    [t('detail.model'), r.modelId],
    [t('detail.hashes'), r.modelHashes.map((h) => `${h.file} ${h.sha256.slice(0, 16)}…`).join('\n')],
  ];
  return (
    <dialog
      ref={ref}
      className="detail"
      aria-labelledby="detail-heading"
      onClose={onClose}
      onKeyDown={(e) => {
        const target = e.target as HTMLElement;
        if (target.closest('input, textarea, select')) return;
        if (e.key === 'ArrowLeft' && hasPrevious) onPrevious();
        if (e.key === 'ArrowRight' && hasNext) onNext();
      }}
    >
      <div className="detail-head">
        <h2 id="detail-heading">{t('detail.heading')}</h2>
        {position && <span className="meta">{t('detail.position', { index: position.index + 1, count: position.count })}</span>}
        <span className="spacer" />
        <button type="button" className="secondary" disabled={!hasPrevious} onClick={onPrevious} aria-keyshortcuts="ArrowLeft">
          {t('detail.prev')}
        </button>
        <button type="button" className="secondary" disabled={!hasNext} onClick={onNext} aria-keyshortcuts="ArrowRight">
          {t('detail.next')}
        </button>
        <button type="button" className="secondary" onClick={() => ref.current?.close()}>
          {t('detail.close')}
        </button>
      </div>
      <div className="detail-body">
        <div className="detail-image">
          <img src={detail.imageUrl} alt={r.prompt} />
        </div>
        <div className="detail-info">
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
          {revealedPath && <p className="meta path">{t('detail.fileAt', { path: revealedPath })}</p>}
          <details className="technical-section">
            <summary>{t('detail.technical')}</summary>
            <dl>
              {technical.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd className="technical">{v}</dd>
                </div>
              ))}
            </dl>
            <h3 className="small-heading">{t('detail.parameters')}</h3>
            <pre>{detail.parameters}</pre>
          </details>
        </div>
      </div>
      <div className="detail-actions">
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
      </div>
    </dialog>
  );
}
