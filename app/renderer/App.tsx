// The studio window: a navigation (Create, Gallery, Styles, Models, each with a shortcut) over one view at
// a time. The window owns what the views share: the Create form (recipes and styles fill it from anywhere),
// the jobs it started, the queue, the recent images, and files dropped on it.

import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import type { AppInfo, DownloadSource, GenerationDetail, GenerationSummary, ImportOutcome, LoraCard, ModelInfo, QueueItem, StudioApi } from '../shared/contract.js';
import type { GenerationRequestInput } from '../shared/generation.js';
import { readImageParameters } from '../shared/image-parameters.js';
import { familyById, familyRequestDefaults } from '../shared/model-families.js';
import { parseRecipeText, recipeTextOf, type RecipeText } from '../shared/recipe-text.js';
import { DetailDialog } from './components/DetailDialog.js';
import { FirstRunCard } from './components/FirstRunCard.js';
import { GalleryView, STUDIO_DRAG_TYPE } from './components/GalleryView.js';
import { ApiSettingsPanel } from './components/ApiSettingsPanel.js';
import { ModelsView } from './components/ModelsView.js';
import { PromptForm } from './components/PromptForm.js';
import { ResultArea } from './components/ResultArea.js';
import { SidePanel } from './components/SidePanel.js';
import { StylesView } from './components/StylesView.js';
import { modelName } from './components/units.js';
import { useI18n } from './i18n/i18n.js';
import { LOCALES, type Locale, type MessageKey } from './i18n/messages.js';
import { defaultForm, recipeToForm, validateForm, withModel, type FormState, type RecipeNote } from './state/form.js';
import { isActive, reduceJobs, started, timingsOf, type Jobs, type PhaseTimings } from './state/jobs.js';

export type View = 'create' | 'gallery' | 'styles' | 'models';
const VIEWS: readonly View[] = ['create', 'gallery', 'styles', 'models'];
const FIRST_RUN_KEY = 'studio.firstRunHidden';
const SOURCE_KEY = 'studio.downloadSource';
const LORA_FILE = /\.(safetensors|bin|ckpt|pt|pth|pkl|pickle)$/i;
const IMAGE_FILE = /\.(png|jpe?g)$/i;

function initialView(): View {
  const v = location.hash.slice(1) as View;
  return VIEWS.includes(v) ? v : 'create';
}

/** Where models download from, by the user's language: ModelScope first in mainland China. */
function initialSource(locale: Locale): DownloadSource {
  const saved = localStorage.getItem(SOURCE_KEY);
  if (saved === 'huggingface' || saved === 'mirror' || saved === 'modelscope') return saved;
  return locale === 'zh-CN' ? 'modelscope' : 'huggingface';
}

interface Detail {
  readonly detail: GenerationDetail;
  /** The list it was opened from, for previous and next. */
  readonly ids: readonly string[];
  readonly siblings: readonly GenerationSummary[];
  readonly revealed?: string;
}

export function App({ api }: { api: StudioApi }) {
  const { t, errorText, locale, setLocale } = useI18n();
  const [view, setViewState] = useState<View>(initialView);
  const [info, setInfo] = useState<AppInfo>();
  const [loras, setLoras] = useState<readonly LoraCard[]>([]);
  const [form, setForm] = useState<FormState>(() => defaultForm());
  const [attempted, setAttempted] = useState(false);
  const [notes, setNotes] = useState<readonly { key: MessageKey; vars?: Record<string, string> }[]>([]);
  const [jobs, setJobs] = useState<Jobs>({});
  const [batch, setBatch] = useState<readonly string[]>([]);
  const [timings, setTimings] = useState<PhaseTimings>();
  const [queue, setQueue] = useState<readonly QueueItem[]>([]);
  const [recent, setRecent] = useState<readonly GenerationSummary[]>([]);
  const [galleryKey, setGalleryKey] = useState(0);
  const [detail, setDetail] = useState<Detail>();
  const [error, setError] = useState<string>();
  const [outcomes, setOutcomes] = useState<readonly ImportOutcome[]>([]);
  const [importing, setImporting] = useState(0);
  const [dragging, setDragging] = useState(false);
  const [source, setSourceState] = useState<DownloadSource>(() => initialSource(locale));
  const [firstRunHidden, setFirstRunHidden] = useState(() => localStorage.getItem(FIRST_RUN_KEY) === '1');
  const [previewing, setPreviewing] = useState<ReadonlyMap<string, string>>(new Map());
  const mine = useRef(new Set<string>());
  /** The job of the latest live-mode request: the one a newer prompt replaces. */
  const liveJob = useRef<string | undefined>(undefined);

  const setView = useCallback((v: View) => {
    setViewState(v);
    history.replaceState(null, '', `#${v}`);
    // Create opens with the prompt ready for typing.
    if (v === 'create') requestAnimationFrame(() => document.getElementById('prompt')?.focus());
  }, []);
  useEffect(() => {
    const onHash = () => setViewState(initialView());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const setSource = (s: DownloadSource) => {
    localStorage.setItem(SOURCE_KEY, s);
    setSourceState(s);
  };

  const loadInfo = useCallback(async () => {
    const r = await api.invoke('app.info', {});
    if (r.ok) setInfo(r.value);
    else setError(errorText(r.error));
    return r.ok ? r.value : undefined;
  }, [api, errorText]);
  const loadLoras = useCallback(async () => {
    const r = await api.invoke('library.loras', {});
    if (r.ok) setLoras(r.value.items);
    return r.ok ? r.value.items : [];
  }, [api]);
  const loadRecent = useCallback(async () => {
    const r = await api.invoke('history.list', { limit: 24 });
    if (r.ok) setRecent(r.value.items);
  }, [api]);

  useEffect(() => {
    void loadInfo().then((i) => i && setForm((f) => (f.modelId === 'demo' ? { ...f, modelId: i.defaultModelId } : f)));
    void loadLoras();
    void loadRecent();
    void api.invoke('jobs.list', {}).then((r) => r.ok && setQueue(r.value.items));
    const offQueue = api.on('queue', (q) => setQueue(q.items));
    const offJob = api.on('job', (e) => {
      if (!mine.current.has(e.jobId)) {
        if (e.type === 'succeeded') {
          setGalleryKey((k) => k + 1);
          void loadRecent();
        }
        return;
      }
      setJobs((all) => {
        const next = reduceJobs(all, e, performance.now());
        if (e.type === 'succeeded') {
          const measured = timingsOf(next[e.jobId]!);
          if (measured) setTimings(measured);
        }
        return next;
      });
      if (e.type === 'succeeded') {
        setGalleryKey((k) => k + 1);
        void loadRecent();
      }
    });
    return () => {
      offQueue();
      offJob();
    };
  }, [api, loadInfo, loadLoras, loadRecent]);

  const formModel = info?.models.find((m) => m.id === form.modelId);
  const family = familyById(formModel?.family ?? '');
  // The model under the name the user reads (the demo's is translated), for the reasons validation gives.
  const validationFor = useCallback(
    (f: FormState) => {
      const m = info?.models.find((x) => x.id === f.modelId);
      return validateForm(f, { imageInput: familyById(m?.family ?? '')?.imageInput ?? false, ...(m ? { model: { ...m, name: modelName(t, m) } } : {}), cards: loras });
    },
    [info, loras, t],
  );
  const validation = useMemo(() => validationFor(form), [form, validationFor]);
  const myActive = useMemo(() => Object.values(jobs).filter(isActive), [jobs]);

  /** Sends requests as one batch; the result area follows them. */
  const submit = useCallback(
    async (requests: readonly GenerationRequestInput[], isLive = false): Promise<string[]> => {
      setError(undefined);
      if (isLive && liveJob.current) void api.invoke('generate.cancel', { jobId: liveJob.current });
      const ids: string[] = [];
      for (const request of requests) {
        const r = await api.invoke('generate.start', request);
        if (!r.ok) {
          setError(errorText(r.error));
          break;
        }
        mine.current.add(r.value.jobId);
        setJobs((all) => started(all, r.value.jobId, r.value.request, performance.now()));
        ids.push(r.value.jobId);
        if (isLive) liveJob.current = r.value.jobId;
      }
      if (ids.length > 0) setBatch(ids);
      return ids;
    },
    [api, errorText],
  );

  /** The one rule of the Generate button and Ctrl+Enter: generate when the form is valid, else show why. */
  const generate = useCallback(
    (isLive = false) => {
      if (!info || !validation.ok) {
        if (!isLive) setAttempted(true);
        return;
      }
      setAttempted(false);
      if (!isLive) return void submit(validation.requests, false);
      // Live mode renders at the family's live size and steps (a speed LoRA keeps its own steps).
      const live = family?.live ? familyRequestDefaults(family, true) : undefined;
      const first = validation.requests[0]!;
      const speed = form.loras.some((l) => loras.find((c) => c.id === l.id)?.role === 'speed');
      void submit([live ? { ...first, width: live.width, height: live.height, ...(speed ? {} : { steps: live.steps }) } : first], true);
    },
    [info, validation, submit, family, form.loras, loras],
  );
  const cancelMine = useCallback(() => {
    for (const j of Object.values(jobs)) if (isActive(j)) void api.invoke('generate.cancel', { jobId: j.jobId });
  }, [api, jobs]);

  // Keyboard: Ctrl+1..4 (or Alt+1..4) switch views, Ctrl+Enter generates, Esc cancels this window's jobs.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const n = Number(e.key);
      if ((e.ctrlKey || e.metaKey || e.altKey) && n >= 1 && n <= VIEWS.length && !e.shiftKey) {
        e.preventDefault();
        setView(VIEWS[n - 1]!);
        return;
      }
      if (document.querySelector('dialog[open]')) return;
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && view === 'create') {
        e.preventDefault();
        generate();
      } else if (e.key === 'Escape' && view === 'create' && myActive.length > 0) {
        cancelMine();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [view, generate, cancelMine, myActive.length, setView]);

  /** Fills the form from a recipe (the one mapping of Use recipe, Reuse seed, Reproduce and dropped images). */
  const applyRecipe = useCallback(
    (r: RecipeText, format?: GenerationDetail['format']): FormState => {
      const { form: next, notes: recipeNotes } = recipeToForm(r, form, loras, info?.models ?? [], format);
      setForm(next);
      setNotes([{ key: 'recipe.applied' }, ...recipeNotes.map(noteMessage)]);
      setAttempted(false);
      return next;
    },
    [form, loras, info],
  );

  const onDropFiles = useCallback(
    async (files: readonly File[]) => {
      const loraFiles = files.filter((f) => LORA_FILE.test(f.name) || !IMAGE_FILE.test(f.name));
      const images = files.filter((f) => IMAGE_FILE.test(f.name) && !LORA_FILE.test(f.name));
      for (const image of images.slice(0, 1)) {
        const text = readImageParameters(new Uint8Array(await image.arrayBuffer()));
        const recipe = text === undefined ? undefined : parseRecipeText(text);
        setView('create');
        if (!recipe) {
          setNotes([{ key: 'recipe.noParameters', vars: { file: image.name } }]);
          continue;
        }
        applyRecipe(recipe);
        setNotes((n) => [{ key: 'recipe.fromImage', vars: { file: image.name } }, ...n.slice(1)]);
      }
      if (loraFiles.length === 0) return;
      setImporting(loraFiles.length);
      try {
        setOutcomes(await api.importLoras(loraFiles));
        await loadLoras();
      } finally {
        setImporting(0);
      }
    },
    [api, applyRecipe, loadLoras, setView],
  );
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    // A tile dragged out of the gallery and let go over the window is not an import.
    if (e.dataTransfer.types.includes(STUDIO_DRAG_TYPE)) return;
    const files = [...e.dataTransfer.files];
    if (files.length === 0) return;
    if (files.some((f) => LORA_FILE.test(f.name) || !IMAGE_FILE.test(f.name))) setView('styles');
    void onDropFiles(files);
  };

  const open = useCallback(
    async (id: string, ids: readonly string[]) => {
      const r = await api.invoke('history.get', { id });
      if (!r.ok) return setError(errorText(r.error));
      const same = await api.invoke('history.list', { prompt: r.value.recipe.prompt, limit: 48 });
      setDetail({ detail: r.value, ids, siblings: same.ok ? same.value.items : [] });
    },
    [api, errorText],
  );
  const step = (delta: number) => {
    if (!detail) return;
    const i = detail.ids.indexOf(detail.detail.id);
    const next = detail.ids[i + delta];
    if (next) void open(next, detail.ids);
  };

  const useRecipe = (d: GenerationDetail) => {
    applyRecipe(recipeTextOf(d.recipe), d.format);
    setDetail(undefined);
    setView('create');
  };
  const reproduce = (d: GenerationDetail) => {
    const next = applyRecipe(recipeTextOf(d.recipe), d.format);
    setDetail(undefined);
    setView('create');
    const v = validationFor(next);
    if (v.ok) void submit(v.requests.slice(0, 1));
    else setAttempted(true);
  };
  const reuseSeed = async (g: GenerationSummary) => {
    const r = await api.invoke('history.get', { id: g.id });
    if (!r.ok) return setError(errorText(r.error));
    applyRecipe(recipeTextOf(r.value.recipe), r.value.format);
  };

  const selectModel = useCallback(
    async (modelId: string, speedEntryId?: string) => {
      await loadInfo();
      const before = new Set(loras.map((l) => l.id));
      const after = speedEntryId ? await loadLoras() : loras;
      const speed = after.find((l) => l.role === 'speed' && !before.has(l.id)) ?? after.find((l) => l.role === 'speed');
      setForm((f) => ({
        ...f,
        modelId,
        ...(speedEntryId && speed ? { loras: [{ id: speed.id, strength: 1 }, ...f.loras.filter((l) => l.id !== speed.id)], steps: String(speed.preset?.steps ?? f.steps), guidance: '1' } : {}),
      }));
    },
    [loadInfo, loadLoras, loras],
  );

  const makePreview = async (card: LoraCard) => {
    const request = {
      prompt: [t('styles.previewPrompt'), ...card.triggerWords.slice(0, 2)].join(', '),
      steps: Number(form.steps) || 4,
      width: 512,
      height: 512,
      seed: 1,
      modelId: form.modelId,
      format: 'jpeg95' as const,
      loras: [...form.loras.filter((l) => loras.find((c) => c.id === l.id)?.role === 'speed'), { id: card.id, strength: 1 }],
    };
    const r = await api.invoke('generate.start', request);
    if (!r.ok) return setError(errorText(r.error));
    mine.current.add(r.value.jobId);
    setJobs((all) => started(all, r.value.jobId, r.value.request, performance.now()));
    setPreviewing((m) => new Map(m).set(card.id, r.value.jobId));
  };
  // A finished preview job becomes its LoRA's card image.
  useEffect(() => {
    for (const [loraId, jobId] of previewing) {
      const j = jobs[jobId];
      if (!j || isActive(j)) continue;
      setPreviewing((m) => {
        const n = new Map(m);
        n.delete(loraId);
        return n;
      });
      if (j.status === 'succeeded' && j.generation) {
        void api.invoke('library.setPreview', { id: loraId, generationId: j.generation.id }).then(async (r) => {
          if (r.ok) await loadLoras();
          else setError(errorText(r.error));
        });
      }
    }
  }, [jobs, previewing, api, loadLoras, errorText]);

  const deleteLora = async (card: LoraCard) => {
    if (!window.confirm(t('styles.confirmDelete', { name: card.name }))) return;
    const r = await api.invoke('library.deleteLora', { id: card.id });
    if (!r.ok) return setError(errorText(r.error));
    setForm((f) => ({ ...f, loras: f.loras.filter((l) => l.id !== card.id) }));
    await loadLoras();
  };
  const reveal = async (d: GenerationDetail) => {
    const res = await api.invoke('history.reveal', { id: d.id });
    if (!res.ok) return setError(errorText(res.error));
    // The desktop app opens the file manager; the browser can only say where the file is.
    if (!res.value.shown) setDetail((cur) => cur && { ...cur, revealed: res.value.path });
  };
  const toggleFavorite = async (d: GenerationDetail) => {
    const res = await api.invoke('history.setFavorite', { id: d.id, favorite: !d.favorite });
    if (!res.ok) return setError(errorText(res.error));
    setDetail((cur) => cur && { ...cur, detail: { ...d, favorite: res.value.favorite } });
    setGalleryKey((k) => k + 1);
  };
  const deleteImage = async (d: GenerationDetail) => {
    // Without a system trash (the browser host) deleting is final, so ask first.
    if (info?.host !== 'electron' && !window.confirm(t('detail.confirmDelete'))) return;
    const res = await api.invoke('history.delete', { id: d.id });
    if (!res.ok) return setError(errorText(res.error));
    setDetail(undefined);
    setGalleryKey((k) => k + 1);
    void loadRecent();
  };

  const inUse = useMemo(() => new Map(form.loras.map((l) => [l.id, l.strength])), [form.loras]);
  const batchJobs = batch.flatMap((id) => (jobs[id] && ![...previewing.values()].includes(id) ? [jobs[id]] : []));
  const onDemo = info?.models.find((m) => m.id === form.modelId)?.isDemo ?? false;
  const showFirstRun = info !== undefined && onDemo && !firstRunHidden;

  return (
    <div
      className={`app view-${view} ${dragging ? 'dragging' : ''}`}
      onDragEnter={(e) => {
        if (!e.dataTransfer.types.includes(STUDIO_DRAG_TYPE) && e.dataTransfer.types.includes('Files')) setDragging(true);
      }}
      onDragOver={(e) => e.preventDefault()}
      onDragLeave={(e) => {
        if (e.relatedTarget === null) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <header className="top-bar">
        <h1>{t('app.title')}</h1>
        <nav aria-label={t('app.views')}>
          {VIEWS.map((v, i) => (
            <button
              key={v}
              type="button"
              className={`nav-item ${view === v ? 'current' : ''}`}
              aria-current={view === v ? 'page' : undefined}
              aria-keyshortcuts={`Control+${i + 1}`}
              title={t('nav.hint', { view: t(`nav.${v}`), keys: `Ctrl+${i + 1}` })}
              onClick={() => setView(v)}
            >
              {t(`nav.${v}`)}
              {v === 'create' && queue.length > 0 && (
                <span className="badge" aria-label={t('nav.queue', { count: queue.length })}>
                  {queue.length}
                </span>
              )}
            </button>
          ))}
        </nav>
        <span className="spacer" />
        <label className="language">
          <span>{t('app.language')}</span>
          <select value={locale} onChange={(e) => setLocale(e.target.value as Locale)}>
            {Object.keys(LOCALES).map((l) => (
              <option key={l} value={l}>
                {l === 'en' ? 'English' : '简体中文'}
              </option>
            ))}
          </select>
        </label>
      </header>
      {error && (
        <div role="alert" className="banner error">
          <span>{t('error.generic', { message: error })}</span>
          <button type="button" className="secondary small" onClick={() => setError(undefined)}>
            {t('app.dismiss')}
          </button>
        </div>
      )}
      <main className="view">
        {view === 'create' && (
          <div className="create-view">
            <PromptForm
              info={info}
              loras={loras}
              form={form}
              onChange={(update) => setForm(update)}
              validation={validation}
              busy={myActive.length > 0}
              onGenerate={generate}
              onCancel={cancelMine}
              attempted={attempted}
              planFor={async (modelId, width, height, ids) => {
                const r = await api.invoke('plan.get', { modelId, width, height, loras: [...ids] });
                return r.ok ? r.value : undefined;
              }}
              onGoTo={setView}
              demoNotice={!showFirstRun}
            />
            <ResultArea batch={batchJobs} timings={timings} last={recent[0]} onOpen={(g) => void open(g.id, recent.map((x) => x.id))} onReuseSeed={(g) => void reuseSeed(g)}>
              {notes.length > 0 && (
                <div className="notes" role="status">
                  {notes.map((n, i) => (
                    <p key={i} className={i === 0 ? 'ok' : 'notice'}>
                      {t(n.key, n.vars)}
                    </p>
                  ))}
                  <button type="button" className="secondary small" onClick={() => setNotes([])}>
                    {t('app.dismiss')}
                  </button>
                </div>
              )}
              {showFirstRun && (
                <FirstRunCard
                  api={api}
                  info={info}
                  source={source}
                  onSource={setSource}
                  onModelReady={(id) => void selectModel(id)}
                  onDownloaded={(title, speed) =>
                    void loadInfo().then((i) => {
                      const model = i?.models.find((m) => m.origin === 'download' && m.name === title);
                      if (!model) return;
                      void selectModel(model.id, speed);
                      setNotes([{ key: 'first.downloaded', vars: { title } }]);
                    })
                  }
                  onUse={(m: ModelInfo) => setForm((f) => ({ ...f, modelId: m.id }))}
                  onHide={() => {
                    localStorage.setItem(FIRST_RUN_KEY, '1');
                    setFirstRunHidden(true);
                  }}
                  onError={setError}
                />
              )}
            </ResultArea>
            <SidePanel
              queue={queue}
              recent={recent}
              onCancel={(jobId) => void api.invoke('generate.cancel', { jobId })}
              onCancelAll={() => {
                for (const q of queue) void api.invoke('generate.cancel', { jobId: q.jobId });
              }}
              onOpen={(g) => void open(g.id, recent.map((x) => x.id))}
              onGallery={() => setView('gallery')}
            />
          </div>
        )}
        {view === 'gallery' && <GalleryView api={api} info={info} loras={loras} refreshKey={galleryKey} onOpen={(id, ids) => void open(id, ids)} onError={setError} />}
        {view === 'styles' && (
          <StylesView
            loras={loras}
            outcomes={outcomes}
            importing={importing}
            onImport={(files) => void onDropFiles(files)}
            model={formModel}
            inUse={inUse}
            onApply={(id, strength) => {
              setForm((f) => (f.loras.some((l) => l.id === id) ? { ...f, loras: f.loras.filter((l) => l.id !== id) } : { ...f, loras: [...f.loras, { id, strength }] }));
            }}
            onStrength={(id, strength) => setForm((f) => ({ ...f, loras: f.loras.map((l) => (l.id === id ? { ...l, strength } : l)) }))}
            onDelete={(card) => void deleteLora(card)}
            onMakePreview={(card) => void makePreview(card)}
            previewing={new Set(previewing.keys())}
          />
        )}
        {view === 'models' && (
          <ModelsView
            api={api}
            info={info}
            source={source}
            onSource={setSource}
            onInstalled={(model) => {
              void loadLoras();
              void loadInfo();
              // A model of another family brings its sizes and steps, as choosing it under Model does.
              if (model) setForm((f) => withModel(f, [...(info?.models ?? []).filter((m) => m.id !== model.id), model], model.id));
            }}
            onError={setError}
          >
            <ApiSettingsPanel api={api} />
          </ModelsView>
        )}
      </main>
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <p>{t('drop.overlay')}</p>
        </div>
      )}
      {detail && (
        <DetailDialog
          key={detail.detail.id}
          detail={detail.detail}
          siblings={detail.siblings}
          position={detail.ids.includes(detail.detail.id) ? { index: detail.ids.indexOf(detail.detail.id), count: detail.ids.length } : undefined}
          onPrevious={() => step(-1)}
          onNext={() => step(1)}
          onOpen={(id) => void open(id, detail.ids)}
          {...(detail.revealed ? { revealedPath: detail.revealed } : {})}
          onReveal={(d) => void reveal(d)}
          onClose={() => setDetail(undefined)}
          onUseRecipe={useRecipe}
          {...(familyById(info?.models.find((m) => m.id === detail.detail.recipe.modelId)?.family ?? '')?.imageInput
            ? {
                onUseAsInput: (d: GenerationDetail) => {
                  const r = d.recipe;
                  setForm((f) => ({ ...f, prompt: r.prompt, modelId: r.modelId, steps: String(Math.max(2, r.steps)), size: 'custom', width: String(r.width), height: String(r.height), initImage: { generationId: d.id, strength: 0.5 } }));
                  setDetail(undefined);
                  setView('create');
                },
              }
            : {})}
          onReproduce={reproduce}
          onToggleFavorite={(d) => void toggleFavorite(d)}
          onDelete={(d) => void deleteImage(d)}
        />
      )}
    </div>
  );
}

function noteMessage(n: RecipeNote): { key: MessageKey; vars: Record<string, string> } {
  switch (n.kind) {
    case 'loraMissing':
      return { key: 'recipe.loraMissing', vars: { name: n.name } };
    case 'modelMissing':
      return { key: 'recipe.modelMissing', vars: { name: n.name } };
  }
}
