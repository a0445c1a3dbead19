// The prompt and settings form; Ctrl/Cmd+Enter generates.

import { familyById, familyOfLoraArchitecture, familyRequestDefaults } from '../../shared/model-families.js';
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';

/** How long typing must pause before live mode renders the prompt. */
const LIVE_DEBOUNCE_MS = 500;
import type { AppInfo, LoraCard } from '../../shared/contract.js';
import { MAX_SEED, MAX_STEPS, MIN_STEPS, OUTPUT_FORMATS, SIZE_PRESETS, type GenerationRequestInput, type OutputFormat } from '../../shared/generation.js';
import { useI18n } from '../i18n/i18n.js';
import type { PlanReport } from '../../shared/vram-plan.js';
import { PlanSummary } from './PlanSummary.js';

export interface CreatePanelProps {
  readonly info: AppInfo | undefined;
  readonly loras: readonly LoraCard[];
  readonly busy: boolean;
  readonly recipe: GenerationRequestInput | undefined;
  /** A batch is several requests; with a locked seed they use seed, seed + 1, ... `live` replaces what runs. */
  onGenerate(requests: readonly GenerationRequestInput[], live?: boolean): void;
  onCancel(): void;
  /** The plan report for a model at a size (plan.get), shown under the size before generating. */
  planFor?(modelId: string, width: number, height: number, loras: readonly string[]): Promise<PlanReport | undefined>;
}

export function CreatePanel({ info, loras, busy, recipe, onGenerate, onCancel, planFor }: CreatePanelProps) {
  const { t } = useI18n();
  const [prompt, setPrompt] = useState(recipe?.prompt ?? '');
  const [size, setSize] = useState('1024x1024');
  const [steps, setSteps] = useState(4);
  const [seed, setSeed] = useState('');
  const [format, setFormat] = useState<OutputFormat>('jpeg95');
  const [modelId, setModelId] = useState(info?.defaultModelId ?? 'demo');
  const [appliedRecipe, setAppliedRecipe] = useState(recipe);
  const [familyOfForm, setFamilyOfForm] = useState<string | undefined>(info?.models.find((m) => m.id === (info.defaultModelId ?? 'demo'))?.family);
  const [speedId, setSpeedId] = useState('');
  const [styleId, setStyleId] = useState('');
  const [strength, setStrength] = useState(1);
  const [guidance, setGuidance] = useState(1);
  const [negative, setNegative] = useState('');
  const [batch, setBatch] = useState(1);
  const [live, setLive] = useState(false);
  const [customW, setCustomW] = useState(1024);
  const [customH, setCustomH] = useState(1024);
  /** Image-to-image: an image of the history to start from, and how much of it to repaint. */
  const [initImage, setInitImage] = useState<{ generationId: string; strength: number } | undefined>();
  // Only the LoRAs made for the chosen model's family.
  const forModel = (l: LoraCard) => l.runnable && familyOfLoraArchitecture(l.architecture)?.id === info?.models.find((m) => m.id === modelId)?.family;
  const speedLoras = loras.filter((l) => l.role === 'speed' && forModel(l));
  const styleLoras = loras.filter((l) => l.role === 'style' && forModel(l));
  const chooseSpeed = (id: string) => {
    setSpeedId(id);
    // A speed LoRA brings its preset; the user can still change the steps afterwards.
    const preset = loras.find((l) => l.id === id)?.preset;
    if (preset) setSteps(preset.steps);
  };

  // "Use this recipe" from the gallery refills the form.
  if (recipe !== appliedRecipe) {
    setAppliedRecipe(recipe);
    if (recipe) {
      setPrompt(recipe.prompt);
      const preset = [...SIZE_PRESETS, ...(info?.models ?? []).flatMap((m) => familyById(m.family)?.sizes ?? [])].some((p) => p.width === recipe.width && p.height === recipe.height);
      setSize(preset ? `${recipe.width}x${recipe.height}` : 'custom');
      setCustomW(recipe.width);
      setCustomH(recipe.height);
      setSteps(recipe.steps);
      setSeed(recipe.seed === undefined ? '' : String(recipe.seed));
      setGuidance(recipe.guidance ?? 1);
      setNegative(recipe.negativePrompt ?? '');
      setInitImage(recipe.initImage?.generationId ? { generationId: recipe.initImage.generationId, strength: recipe.initImage.strength } : undefined);
      const recipeModel = info?.models.find((m) => m.id === recipe.modelId);
      if (recipeModel) {
        // The recipe's own size and steps stay: its model's family is taken as the form's.
        setModelId(recipeModel.id);
        setFamilyOfForm(recipeModel.family);
      }
    }
  }

  const model = info?.models.find((m) => m.id === modelId);
  const family = model ? familyById(model.family) : undefined;
  const sizeChoices = family?.sizes ?? SIZE_PRESETS;
  // Choosing a model of another family starts from that family's size and steps.
  if (family && family.id !== familyOfForm) {
    setFamilyOfForm(family.id);
    if (familyOfForm !== undefined) {
      const d = familyRequestDefaults(family);
      setSize(`${d.width}x${d.height}`);
      setSteps(d.steps);
    }
  }
  const [planW, planH] = size === 'custom' ? [customW, customH] : size.split('x').map(Number);
  // Live mode: the prompt is rendered as it is typed; each pause in typing starts a new job.
  const submitRef = useRef<(live: boolean) => void>(() => undefined);
  useEffect(() => {
    if (!live || prompt.trim() === '') return;
    const timer = setTimeout(() => submitRef.current(true), LIVE_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [live, prompt]);

  const submit = (e?: FormEvent, isLive = false) => {
    e?.preventDefault();
    const liveSettings = isLive && family?.live ? familyRequestDefaults(family, true) : undefined;
    const [w, h] = liveSettings ? [liveSettings.width, liveSettings.height] : size === 'custom' ? [customW, customH] : size.split('x').map(Number);
    const seedNumber = seed.trim() === '' ? undefined : Number(seed);
    const chosen = [...(speedId ? [{ id: speedId, strength: 1 }] : []), ...(styleId ? [{ id: styleId, strength }] : [])];
    const base: GenerationRequestInput = {
      prompt,
      steps: liveSettings && !speedId ? liveSettings.steps : steps,
      guidance,
      ...(initImage && family?.imageInput ? { initImage } : {}),
      // The negative prompt only takes part with guidance above 1 (true CFG).
      negativePrompt: guidance > 1 ? negative : '',
      width: w ?? 1024,
      height: h ?? 1024,
      format,
      modelId,
      loras: chosen,
    };
    const count = Math.max(1, Math.min(16, Math.floor(batch) || 1));
    onGenerate(
      Array.from({ length: isLive ? 1 : count }, (_, i) => ({
        ...base,
        // Never wrapped (4294967296 is not seed 0): a seed out of range goes to main, which refuses it clearly.
        ...(seedNumber === undefined || !Number.isFinite(seedNumber) ? {} : { seed: seedNumber + i }),
      })),
      isLive,
    );
  };
  submitRef.current = (isLive) => submit(undefined, isLive);
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit();
    if (e.key === 'Escape' && busy) onCancel();
  };

  return (
    <form className="panel create" noValidate onSubmit={submit} onKeyDown={onKeyDown} aria-labelledby="create-heading">
      <h2 id="create-heading">{t('create.heading')}</h2>
      <label htmlFor="prompt">{t('create.prompt')}</label>
      <textarea id="prompt" value={prompt} rows={5} placeholder={t('create.promptPlaceholder')} onChange={(e) => setPrompt(e.target.value)} />
      <p className="tip">{t('create.promptTip')}</p>
      <div className="row">
        <label>
          {t('create.guidance')}
          <input type="number" min={1} max={20} step={0.5} value={guidance} onChange={(e) => setGuidance(Number(e.target.value))} />
        </label>
        <label>
          {t('create.batch')}
          <input type="number" min={1} max={16} value={batch} onChange={(e) => setBatch(Number(e.target.value))} />
        </label>
      </div>
      {guidance > 1 && (
        <>
          <label htmlFor="negative">{t('create.negative')}</label>
          <textarea id="negative" value={negative} rows={2} placeholder={t('create.negativePlaceholder')} onChange={(e) => setNegative(e.target.value)} />
        </>
      )}
      <div className="row">
        <label>
          {t('create.model')}
          <select value={modelId} onChange={(e) => setModelId(e.target.value)}>
            {(info?.models ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {model?.isDemo && <p className="notice">{t('create.demoNotice', { family: familyById(model.family)?.title ?? model.family })}</p>}
      <div className="row">
        <label>
          {t('create.speed')}
          <select value={speedId} onChange={(e) => chooseSpeed(e.target.value)}>
            <option value="">{t('create.speedNone')}</option>
            {speedLoras.map((l) => (
              <option key={l.id} value={l.id}>
                {l.preset?.label ?? l.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="row">
        <label>
          {t('create.style')}
          <select value={styleId} onChange={(e) => setStyleId(e.target.value)}>
            <option value="">{t('create.styleNone')}</option>
            {styleLoras.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('create.strength')}
          <input type="range" min={0} max={1.5} step={0.05} value={strength} disabled={!styleId} onChange={(e) => setStrength(Number(e.target.value))} />
        </label>
      </div>
      <div className="row">
        <label>
          {t('create.size')}
          <select value={size} onChange={(e) => setSize(e.target.value)}>
            {sizeChoices.map((p) => (
              <option key={`${p.width}x${p.height}`} value={`${p.width}x${p.height}`}>
                {p.width} × {p.height}
              </option>
            ))}
            <option value="custom">{t('create.sizeCustom')}</option>
          </select>
        </label>
        {size === 'custom' && (
          <>
            <label>
              {t('create.width')}
              <input type="number" min={256} max={2048} step={16} value={customW} onChange={(e) => setCustomW(Number(e.target.value))} />
            </label>
            <label>
              {t('create.height')}
              <input type="number" min={256} max={2048} step={16} value={customH} onChange={(e) => setCustomH(Number(e.target.value))} />
            </label>
          </>
        )}
        <label>
          {t('create.steps')}
          <input type="number" min={MIN_STEPS} max={MAX_STEPS} value={steps} onChange={(e) => setSteps(Number(e.target.value))} />
        </label>
      </div>
      {initImage && family?.imageInput && (
        <div className="row">
          <span>{t('create.inputImage')}</span>
          <label>
            {t('create.inputStrength')}
            <input type="range" min={0.1} max={1} step={0.05} value={initImage.strength} onChange={(e) => setInitImage({ ...initImage, strength: Number(e.target.value) })} />
          </label>
          <button type="button" className="secondary" onClick={() => setInitImage(undefined)}>
            {t('create.inputRemove')}
          </button>
        </div>
      )}
      {planFor && <PlanSummary planFor={planFor} modelId={modelId} width={planW ?? 1024} height={planH ?? 1024} speedLoraId={speedId} />}
      <div className="row">
        <label>
          {t('create.seed')}
          <input type="number" min={0} max={MAX_SEED} value={seed} placeholder={t('create.seedPlaceholder')} onChange={(e) => setSeed(e.target.value)} />
        </label>
        <button type="button" className="secondary" onClick={() => setSeed('')}>
          {t('create.seedRandom')}
        </button>
      </div>
      <div className="row">
        <label>
          {t('create.format')}
          <select value={format} onChange={(e) => setFormat(e.target.value as OutputFormat)}>
            {OUTPUT_FORMATS.map((f) => (
              <option key={f} value={f}>
                {t(`create.format.${f}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t('create.generate')}
        </button>
        {busy && (
          <button type="button" className="secondary" onClick={onCancel}>
            {t('create.cancel')}
          </button>
        )}
        <label className="check">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />
          {t('create.live')}
        </label>
        <span className="hint">{t('create.shortcut')}</span>
      </div>
    </form>
  );
}
