// The Create form: the prompt on top and the Generate bar at the bottom never scroll away; the settings
// scroll between them. Each field says what is wrong with it as soon as it is touched.

import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { AppInfo, LoraCard } from '../../shared/contract.js';
import { MAX_BATCH, MAX_STEPS, MIN_STEPS, OUTPUT_FORMATS, type OutputFormat } from '../../shared/generation.js';
import type { Notice } from '../../shared/notices.js';
import { useI18n } from '../i18n/i18n.js';
import { modelName } from './units.js';
import { familyById, familyOfLoraArchitecture } from '../../shared/model-families.js';
import { sizeOf, sizesFor, withModel, type FormField, type FormLora, type FormState, type Validation } from '../state/form.js';
import { PlanSummary } from './PlanSummary.js';
import type { PlanFor } from './plan-text.js';

/** How long typing must pause before live mode renders the prompt. */
const LIVE_DEBOUNCE_MS = 500;

export interface PromptFormProps {
  readonly info: AppInfo | undefined;
  readonly loras: readonly LoraCard[];
  readonly form: FormState;
  readonly onChange: (update: (f: FormState) => FormState) => void;
  readonly validation: Validation;
  /** True while any job of this window is queued or running: Cancel is offered. */
  readonly busy: boolean;
  /** Generates when the form is valid, else shows every problem: the one rule of the button and Ctrl+Enter. */
  readonly onGenerate: (live?: boolean) => void;
  readonly onCancel: () => void;
  /** Problems are shown for every field after a Generate attempt. */
  readonly attempted: boolean;
  readonly planFor: PlanFor;
  readonly onGoTo: (view: 'styles' | 'models') => void;
  /** The demo's explanation, unless the first-run card already gives it. */
  readonly demoNotice: boolean;
}

export function PromptForm({ info, loras, form, onChange, validation, busy, onGenerate, onCancel, attempted, planFor, onGoTo, demoNotice }: PromptFormProps) {
  const { t, notice } = useI18n();
  const [touched, setTouched] = useState<ReadonlySet<FormField>>(new Set());
  const [live, setLive] = useState(false);
  const touch = (f: FormField) => setTouched((s) => (s.has(f) ? s : new Set(s).add(f)));
  const set = (field: FormField, patch: Partial<FormState>) => {
    touch(field);
    onChange((f) => ({ ...f, ...patch }));
  };
  const problems = validation.ok ? {} : validation.problems;
  // A LoRA of another family than the model is said at once: the user did not type it wrong, it came with
  // a model switch, a card's "Use in Create" or a recipe.
  const problem = (f: FormField): Notice | undefined => (attempted || touched.has(f) || f === 'loras' ? problems[f] : undefined);
  const firstProblem = validation.ok ? undefined : Object.values(problems)[0];

  const cards = new Map(loras.map((l) => [l.id, l]));
  const model = info?.models.find((m) => m.id === form.modelId);
  const family = model ? familyById(model.family) : undefined;
  // Only the LoRAs made for the chosen model's family.
  const forModel = (l: LoraCard) => l.runnable && familyOfLoraArchitecture(l.architecture)?.id === model?.family;
  const speedLoras = loras.filter((l) => l.role === 'speed' && forModel(l));
  const styleLoras = loras.filter((l) => l.role === 'style' && forModel(l));
  const speed = form.loras.find((l) => cards.get(l.id)?.role === 'speed');
  const styles = form.loras.filter((l) => cards.get(l.id)?.role !== 'speed');
  const { width, height } = sizeOf(form);

  const chooseSpeed = (id: string) => {
    touch('loras');
    onChange((f) => {
      const rest = f.loras.filter((l) => cards.get(l.id)?.role !== 'speed');
      const preset = cards.get(id)?.preset;
      if (!id) return { ...f, loras: rest };
      // A speed LoRA brings its preset (steps, guidance 1); the user can still change them afterwards.
      return { ...f, loras: [{ id, strength: 1 }, ...rest], ...(preset ? { steps: String(preset.steps), guidance: String(preset.guidance) } : {}) };
    });
  };
  const setStyle = (index: number, patch: Partial<FormLora> | undefined) => {
    touch('loras');
    onChange((f) => {
      let seen = -1;
      const next: FormLora[] = [];
      for (const l of f.loras) {
        const isStyle = cards.get(l.id)?.role !== 'speed';
        if (isStyle && ++seen === index) {
          if (patch) next.push({ ...l, ...patch });
        } else next.push(l);
      }
      return { ...f, loras: next };
    });
  };
  const addStyle = () => {
    const unused = styleLoras.find((c) => !form.loras.some((l) => l.id === c.id));
    if (unused) onChange((f) => ({ ...f, loras: [...f.loras, { id: unused.id, strength: 1 }] }));
  };

  // Live mode: the prompt is rendered as it is typed; each pause in typing starts a new job.
  const generateRef = useRef(onGenerate);
  generateRef.current = onGenerate;
  useEffect(() => {
    if (!live || form.prompt.trim() === '') return;
    const timer = setTimeout(() => generateRef.current(true), LIVE_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [live, form.prompt]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onGenerate();
  };
  const error = (f: FormField, id: string): ReactNode => {
    const p = problem(f);
    return p ? (
      <span className="field-error" id={id} role="alert">
        {notice(p)}
      </span>
    ) : null;
  };
  const invalid = (f: FormField) => (problem(f) ? { 'aria-invalid': true, 'aria-describedby': `${f}-error` } : {});

  return (
    <form className="create-form panel" noValidate onSubmit={submit} aria-label={t('create.heading')}>
      <div className="form-head">
        <label htmlFor="prompt" className="label">
          {t('create.prompt')}
        </label>
        <textarea id="prompt" value={form.prompt} rows={4} placeholder={t('create.promptPlaceholder')} onChange={(e) => set('prompt', { prompt: e.target.value })} {...invalid('prompt')} />
        {error('prompt', 'prompt-error')}
      </div>
      <div className="form-body">
        <p className="tip">{t('create.promptTip')}</p>
        <label>
          {t('create.model')}
          <select
            value={form.modelId}
            onChange={(e) => {
              touch('model');
              const id = e.target.value;
              onChange((f) => withModel(f, info?.models ?? [], id));
            }}
            {...invalid('model')}
          >
            {(info?.models ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {modelName(t, m)}
              </option>
            ))}
          </select>
        </label>
        {error('model', 'model-error')}
        {model?.isDemo && demoNotice && <p className="notice">{t('create.demoNotice', { family: family?.title ?? model.family })}</p>}
        <label>
          {t('create.speed')}
          <select value={speed?.id ?? ''} onChange={(e) => chooseSpeed(e.target.value)}>
            <option value="">{t('create.speedNone')}</option>
            {speed && !speedLoras.some((l) => l.id === speed.id) && <option value={speed.id}>{cards.get(speed.id)?.preset?.label ?? cards.get(speed.id)?.name ?? speed.id}</option>}
            {speedLoras.map((l) => (
              <option key={l.id} value={l.id}>
                {l.preset?.label ?? l.name}
              </option>
            ))}
          </select>
        </label>
        {speedLoras.length === 0 && (
          <p className="tip">
            {t('create.speedWhere')}{' '}
            <button type="button" className="link" onClick={() => onGoTo('models')}>
              {t('nav.models')}
            </button>
          </p>
        )}
        <fieldset className="styles-field">
          <legend>{t('create.style')}</legend>
          {styles.map((s, i) => {
            const card = cards.get(s.id);
            return (
              <div className="style-row" key={`${s.id}-${i}`}>
                <select aria-label={t('create.style')} value={s.id} onChange={(e) => setStyle(i, { id: e.target.value })} {...invalid('loras')}>
                  {!styleLoras.some((l) => l.id === s.id) && <option value={s.id}>{card?.name ?? s.id}</option>}
                  {styleLoras.map((l) => (
                    <option key={l.id} value={l.id}>
                      {l.name}
                    </option>
                  ))}
                </select>
                <input type="range" aria-label={t('create.strength')} min={0} max={1.5} step={0.05} value={s.strength} onChange={(e) => setStyle(i, { strength: Number(e.target.value) })} />
                <output className="value">{s.strength.toFixed(2)}</output>
                <button type="button" className="icon" aria-label={t('create.removeStyle')} title={t('create.removeStyle')} onClick={() => setStyle(i, undefined)}>
                  ×
                </button>
              </div>
            );
          })}
          {styles.length === 0 && styleLoras.length > 0 && <p className="tip">{t('create.styleNone')}</p>}
          {styleLoras.length > styles.length && (
            <button type="button" className="secondary small" onClick={addStyle}>
              {t('create.addStyle')}
            </button>
          )}
          {styleLoras.length === 0 && (
            <p className="tip">
              {t('create.styleWhere')}{' '}
              <button type="button" className="link" onClick={() => onGoTo('styles')}>
                {t('nav.styles')}
              </button>
            </p>
          )}
          {error('loras', 'loras-error')}
        </fieldset>
        <div className="row">
          <label>
            {t('create.size')}
            <select value={form.size} onChange={(e) => set('width', { size: e.target.value, ...(e.target.value === 'custom' ? { width, height } : {}) })}>
              {sizesFor(model).map((p) => (
                <option key={`${p.width}x${p.height}`} value={`${p.width}x${p.height}`}>
                  {p.width} × {p.height}
                </option>
              ))}
              <option value="custom">{t('create.sizeCustom')}</option>
            </select>
          </label>
          <label>
            {t('create.steps')}
            <input type="number" inputMode="numeric" min={MIN_STEPS} max={MAX_STEPS} value={form.steps} onChange={(e) => set('steps', { steps: e.target.value })} {...invalid('steps')} />
          </label>
        </div>
        {error('steps', 'steps-error')}
        {form.initImage && family?.imageInput && (
          <fieldset className="input-image">
            <legend>{t('create.inputImage')}</legend>
            <label>
              {t('create.inputStrength')}
              <span className="strength">
                <input type="range" min={0.1} max={1} step={0.05} value={form.initImage.strength} onChange={(e) => onChange((f) => (f.initImage ? { ...f, initImage: { ...f.initImage, strength: Number(e.target.value) } } : f))} />
                <output className="value">{form.initImage.strength.toFixed(2)}</output>
              </span>
            </label>
            <button type="button" className="secondary small" onClick={() => onChange((f) => ({ ...f, initImage: undefined }))}>
              {t('create.inputRemove')}
            </button>
          </fieldset>
        )}
        {form.size === 'custom' && (
          <>
            <div className="row">
              <label>
                {t('create.width')}
                <input type="number" inputMode="numeric" min={256} max={2048} step={16} value={form.width} onChange={(e) => set('width', { width: e.target.value })} {...invalid('width')} />
              </label>
              <label>
                {t('create.height')}
                <input type="number" inputMode="numeric" min={256} max={2048} step={16} value={form.height} onChange={(e) => set('height', { height: e.target.value })} {...invalid('height')} />
              </label>
            </div>
            {error('width', 'width-error')}
            {error('height', 'height-error')}
          </>
        )}
        <PlanSummary planFor={planFor} modelId={form.modelId} width={Number(width)} height={Number(height)} speedLoraId={speed?.id ?? ''} />
        <div className="row">
          <label>
            {t('create.guidance')}
            <input type="number" inputMode="decimal" min={1} max={20} step={0.5} value={form.guidance} onChange={(e) => set('guidance', { guidance: e.target.value })} {...invalid('guidance')} />
          </label>
          <label>
            {t('create.batch')}
            <input type="number" inputMode="numeric" min={1} max={MAX_BATCH} value={form.batch} onChange={(e) => set('batch', { batch: e.target.value })} {...invalid('batch')} />
          </label>
        </div>
        {error('guidance', 'guidance-error')}
        {error('batch', 'batch-error')}
        <label htmlFor="negative" className="label">
          {t('create.negative')}
        </label>
        <textarea id="negative" value={form.negative} rows={2} placeholder={t('create.negativePlaceholder')} onChange={(e) => set('negative', { negative: e.target.value })} {...invalid('negative')} />
        <p className="tip">{t('create.negativeHint')}</p>
        {error('negative', 'negative-error')}
        <div className="row">
          <label>
            {t('create.seed')}
            <input type="text" inputMode="numeric" value={form.seed} placeholder={t('create.seedPlaceholder')} maxLength={12} onChange={(e) => set('seed', { seed: e.target.value })} {...invalid('seed')} />
          </label>
          <button type="button" className="secondary" onClick={() => set('seed', { seed: '' })} title={t('create.seedRandom')}>
            {t('create.seedRandom')}
          </button>
        </div>
        {error('seed', 'seed-error')}
        <label>
          {t('create.format')}
          <select value={form.format} onChange={(e) => onChange((f) => ({ ...f, format: e.target.value as OutputFormat }))}>
            {OUTPUT_FORMATS.map((f) => (
              <option key={f} value={f}>
                {t(`create.format.${f}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />
          {t('create.live')}
        </label>
      </div>
      <div className="generate-bar">
        <button type="submit" className="primary" disabled={!validation.ok || !info} title={t('create.generateHint')} aria-label={t('create.generate')} aria-keyshortcuts="Control+Enter">
          {t('create.generate')}
          <kbd>{t('create.shortcut')}</kbd>
        </button>
        {busy && (
          <button type="button" className="secondary" onClick={onCancel}>
            {t('create.cancel')}
          </button>
        )}
        {firstProblem && <span className="bar-problem">{notice(firstProblem)}</span>}
      </div>
    </form>
  );
}
