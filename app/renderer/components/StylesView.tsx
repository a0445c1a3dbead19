// The LoRA library: a drop target with a file picker (so the keyboard can import too), what happened to
// each file, and the cards: preview (made on request), what the LoRA is, apply with a strength, delete.

import { useRef, useState, type DragEvent } from 'react';
import type { ImportOutcome, LoraCard, ModelInfo } from '../../shared/contract.js';
import { loraFamilyProblem } from '../../shared/lora-family.js';
import { familyOfLoraArchitecture, LORA_ARCHITECTURE_NAMES } from '../../shared/model-families.js';
import { useI18n } from '../i18n/i18n.js';
import { modelName } from './units.js';

export interface StylesViewProps {
  readonly loras: readonly LoraCard[];
  readonly outcomes: readonly ImportOutcome[];
  readonly importing: number;
  readonly onImport: (files: readonly File[]) => void;
  /** The model chosen in Create: a LoRA of another family cannot be put in the form, and its card says why. */
  readonly model: ModelInfo | undefined;
  /** The strength of each LoRA in the Create form (absent: not in use). */
  readonly inUse: ReadonlyMap<string, number>;
  readonly onApply: (id: string, strength: number) => void;
  readonly onStrength: (id: string, strength: number) => void;
  readonly onDelete: (card: LoraCard) => void;
  readonly onMakePreview: (card: LoraCard) => void;
  /** LoRAs whose preview is being made. */
  readonly previewing: ReadonlySet<string>;
}

export function StylesView({ loras, outcomes, importing, onImport, model, inUse, onApply, onStrength, onDelete, onMakePreview, previewing }: StylesViewProps) {
  const { t, errorText, notice } = useI18n();
  const [over, setOver] = useState(false);
  const [strengths, setStrengths] = useState<Record<string, number>>({});
  const input = useRef<HTMLInputElement>(null);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    e.stopPropagation();
    setOver(false);
    const files = [...e.dataTransfer.files];
    if (files.length > 0) onImport(files);
  };
  return (
    <section className="styles-view" aria-labelledby="styles-heading">
      <h2 id="styles-heading" className="visually-hidden">
        {t('styles.heading')}
      </h2>
      <div
        className={`drop-zone panel ${over ? 'over' : ''}`}
        onDragEnter={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragOver={(e) => e.preventDefault()}
        onDragLeave={(e) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
        }}
        onDrop={onDrop}
      >
        <p className="drop-title">{t('styles.drop')}</p>
        <button type="button" className="primary" onClick={() => input.current?.click()}>
          {t('styles.choose')}
        </button>
        <input
          ref={input}
          type="file"
          multiple
          accept=".safetensors"
          className="visually-hidden"
          tabIndex={-1}
          aria-hidden="true"
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = '';
            if (files.length > 0) onImport(files);
          }}
        />
        <p className="tip">{t('styles.dropHint')}</p>
        {importing > 0 && <p role="status">{t('styles.importing', { count: importing })}</p>}
      </div>
      {outcomes.length > 0 && (
        <ul className="outcomes panel" aria-label={t('styles.heading')}>
          {outcomes.map((o, i) => (
            <li key={`${o.file}-${i}`} role={o.ok ? 'status' : 'alert'} className={o.ok ? 'ok' : 'error'}>
              {o.ok ? t(o.duplicate ? 'styles.duplicate' : 'styles.imported', { file: o.file }) : t('styles.refused', { file: o.file, reason: errorText(o.error) })}
            </li>
          ))}
        </ul>
      )}
      {loras.length === 0 && <p className="empty">{t('styles.empty')}</p>}
      <ul className="cards">
        {loras.map((l) => {
          const used = inUse.get(l.id);
          const strength = used ?? strengths[l.id] ?? 1;
          // Not for the model in Create: it cannot be put in the form nor previewed with that model, and the
          // card says why (one already in the form can still be taken out).
          const refusal = l.runnable && model ? loraFamilyProblem(l, { name: modelName(t, model), family: model.family }) : undefined;
          return (
            <li key={l.id} className={`card panel ${l.runnable ? '' : 'disabled'}`} aria-label={l.name}>
              <div className="card-preview">
                {l.previewUrl ? (
                  <img src={l.previewUrl} alt="" />
                ) : l.role === 'style' && l.runnable ? (
                  <button type="button" className="secondary small" disabled={previewing.has(l.id) || refusal !== undefined} {...(refusal ? { 'aria-describedby': `refusal-${l.id}` } : {})} onClick={() => onMakePreview(l)}>
                    {previewing.has(l.id) ? t('styles.makingPreview') : t('styles.makePreview')}
                  </button>
                ) : (
                  <span className="meta">{t('styles.noPreview')}</span>
                )}
              </div>
              <strong className="card-name" title={l.name}>
                {l.name}
              </strong>
              <span className={`tag ${l.role}`}>{l.preset?.label ?? t(l.role === 'speed' ? 'styles.speed' : 'styles.style')}</span>
              {l.runnable && <span className="meta">{t('styles.forFamily', { architecture: LORA_ARCHITECTURE_NAMES[l.architecture] ?? l.architecture, family: familyOfLoraArchitecture(l.architecture)?.title ?? l.architecture })}</span>}
              <span className="meta">{l.runnable ? t('styles.rank', { rank: l.rank }) : t('styles.notRunnable', { architecture: l.architecture })}</span>
              {l.baseModel && <span className="meta">{t('styles.base', { model: l.baseModel })}</span>}
              {l.triggerWords.length > 0 && <span className="meta">{t('styles.triggers', { words: l.triggerWords.join(', ') })}</span>}
              {l.role === 'style' && l.runnable && (
                <div className="strength">
                  <input
                    type="range"
                    min={0}
                    max={1.5}
                    step={0.05}
                    value={strength}
                    aria-label={t('styles.strength', { name: l.name })}
                    onChange={(e) => {
                      const v = Number(e.target.value);
                      setStrengths((s) => ({ ...s, [l.id]: v }));
                      if (used !== undefined) onStrength(l.id, v);
                    }}
                  />
                  <output className="value">{strength.toFixed(2)}</output>
                </div>
              )}
              {refusal && (
                <p className="meta refusal" id={`refusal-${l.id}`} role="note">
                  {notice(refusal)}
                </p>
              )}
              <div className="card-actions">
                {l.runnable && (
                  <button
                    type="button"
                    className={used !== undefined ? 'secondary' : 'primary'}
                    aria-pressed={used !== undefined}
                    disabled={refusal !== undefined && used === undefined}
                    {...(refusal ? { 'aria-describedby': `refusal-${l.id}` } : {})}
                    onClick={() => onApply(l.id, strength)}
                  >
                    {used !== undefined ? t('styles.applied') : t('styles.apply')}
                  </button>
                )}
                <button type="button" className="secondary danger" aria-label={t('styles.deleteNamed', { name: l.name })} onClick={() => onDelete(l)}>
                  {t('styles.delete')}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
