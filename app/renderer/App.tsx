// The studio window: create on the left, the result in the middle, the gallery below; the recipe in a dialog.

import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import type { AppInfo, GenerationDetail, GenerationSummary, ImportOutcome, LoraCard, StudioApi } from '../shared/contract.js';
import type { GenerationRequestInput } from '../shared/generation.js';
import { CreatePanel } from './components/CreatePanel.js';
import { DetailDialog } from './components/DetailDialog.js';
import { Gallery } from './components/Gallery.js';
import { ResultView } from './components/ResultView.js';
import { StylesPanel } from './components/StylesPanel.js';
import { ModelsPanel } from './components/ModelsPanel.js';
import { ApiSettingsPanel } from './components/ApiSettingsPanel.js';
import { useI18n } from './i18n/i18n.js';
import { LOCALES, type Locale } from './i18n/messages.js';
import { idleJob, reduceJob, type JobView } from './state/job-state.js';

export function App({ api }: { api: StudioApi }) {
  const { t, errorText, locale, setLocale } = useI18n();
  const [info, setInfo] = useState<AppInfo>();
  const [job, setJob] = useState<JobView>(idleJob);
  const [galleryKey, setGalleryKey] = useState(0);
  const [detail, setDetail] = useState<GenerationDetail>();
  const [recipe, setRecipe] = useState<GenerationRequestInput>();
  const [error, setError] = useState<string>();
  const [loras, setLoras] = useState<readonly LoraCard[]>([]);
  const [outcomes, setOutcomes] = useState<readonly ImportOutcome[]>([]);
  const [importing, setImporting] = useState(0);
  const loadLoras = useCallback(async () => {
    const r = await api.invoke('library.loras', {});
    if (r.ok) setLoras(r.value.items);
  }, [api]);

  useEffect(() => {
    void api.invoke('app.info', {}).then((r) => (r.ok ? setInfo(r.value) : setError(errorText(r.error))));
    void loadLoras();
    return api.on('job', (e) => {
      // Every job's latest state is kept, so a batch's next job shows where it already is.
      const before = seen.current.get(e.jobId) ?? ({ status: 'running', jobId: e.jobId, progress: { phase: 'queued', step: 0, totalSteps: 0 } });
      seen.current.set(e.jobId, reduceJob(before, e));
      setJob((s) => reduceJob(s, e));
      if (e.type === 'succeeded') setGalleryKey((k) => k + 1);
    });
  }, [api, loadLoras]);

  // LoRA files dropped anywhere on the window go to the library.
  const onDrop = useCallback(
    async (e: DragEvent) => {
      e.preventDefault();
      const files = [...e.dataTransfer.files];
      if (files.length === 0) return;
      setImporting(files.length);
      try {
        setOutcomes(await api.importLoras(files));
        await loadLoras();
      } finally {
        setImporting(0);
      }
    },
    [api, loadLoras],
  );

  const [pending, setPending] = useState<string[]>([]);
  const seen = useRef(new Map<string, JobView>());
  /** The job of the latest live-mode request: the one a newer prompt replaces. */
  const liveJob = useRef<string | undefined>(undefined);
  const generate = useCallback(
    async (requests: readonly GenerationRequestInput[], isLive = false) => {
      setError(undefined);
      if (isLive) {
        // The newest prompt wins: whatever is queued or running for an older one is cancelled.
        if (liveJob.current) void api.invoke('generate.cancel', { jobId: liveJob.current });
      }
      const ids: string[] = [];
      for (const request of requests) {
        const r = await api.invoke('generate.start', request);
        if (!r.ok) {
          setJob({ status: 'failed', jobId: undefined, error: r.error });
          break;
        }
        ids.push(r.value.jobId);
        if (isLive) liveJob.current = r.value.jobId;
        // The first job is shown at once; the rest follow as each finishes.
        if (ids.length === 1) setJob({ status: 'running', jobId: r.value.jobId, progress: { phase: 'queued', step: 0, totalSteps: r.value.request.steps } });
      }
      setPending(ids.slice(1));
    },
    [api],
  );
  // When a job of a batch ends, follow the next one.
  useEffect(() => {
    if (job.status === 'running' || job.status === 'idle' || pending.length === 0) return;
    const [next, ...rest] = pending;
    setPending(rest);
    setJob(seen.current.get(next!) ?? { status: 'running', jobId: next!, progress: { phase: 'queued', step: 0, totalSteps: 0 } });
  }, [job, pending]);
  // A report that cannot be made (a model folder gone missing) just hides the plan line; generating says why.
  const planFor = useCallback(async (modelId: string, width: number, height: number, loras: readonly string[]) => {
    const r = await api.invoke('plan.get', { modelId, width, height, loras: [...loras] });
    return r.ok ? r.value : undefined;
  }, [api]);
  const cancel = useCallback(() => {
    for (const jobId of pending) void api.invoke('generate.cancel', { jobId });
    setPending([]);
    if (job.status === 'running') void api.invoke('generate.cancel', { jobId: job.jobId });
  }, [api, job, pending]);
  const [siblings, setSiblings] = useState<readonly GenerationSummary[]>([]);
  const [revealed, setRevealed] = useState<string>();
  // Esc cancels the running generation wherever the focus is.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && job.status === 'running' && !document.querySelector('dialog[open]')) cancel();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [job, cancel]);

  const open = useCallback(
    async (id: string) => {
      const r = await api.invoke('history.get', { id });
      if (!r.ok) return setError(errorText(r.error));
      setDetail(r.value);
      setRevealed(undefined);
      // The seed history: every image of exactly this prompt.
      const same = await api.invoke('history.list', { prompt: r.value.recipe.prompt, limit: 48 });
      setSiblings(same.ok ? same.value.items : []);
    },
    [api],
  );

  return (
    <div className="app" onDragOver={(e) => e.preventDefault()} onDrop={(e) => void onDrop(e)}>
      <header>
        <h1>{t('app.title')}</h1>
        <label className="language">
          {t('app.language')}
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
        <p role="alert" className="error">
          {t('error.generic', { message: error })}
        </p>
      )}
      <main>
        <CreatePanel info={info} loras={loras} busy={job.status === 'running'} recipe={recipe} onGenerate={(r, isLive) => void generate(r, isLive)} onCancel={cancel} planFor={planFor} />
        <ResultView
          job={job}
          onReuse={(g) => setRecipe({ prompt: g.prompt, steps: g.steps, width: g.width, height: g.height, seed: g.seed })}
        />
        <Gallery api={api} info={info} loras={loras} refreshKey={galleryKey} onOpen={(id) => void open(id)} onError={setError} />
        <StylesPanel loras={loras} outcomes={outcomes} importing={importing} />
        <ModelsPanel
          api={api}
          onError={setError}
          onInstalled={() => {
            void loadLoras();
            void api.invoke('app.info', {}).then((r) => r.ok && setInfo(r.value));
          }}
        />
        <ApiSettingsPanel api={api} />
      </main>
      {detail && (
        <DetailDialog
          key={detail.id}
          detail={detail}
          siblings={siblings}
          onOpen={(id) => void open(id)}
          {...(revealed ? { revealedPath: revealed } : {})}
          onReveal={async (d) => {
            const res = await api.invoke('history.reveal', { id: d.id });
            if (!res.ok) return setError(errorText(res.error));
            // The desktop app opens the file manager; the browser can only say where the file is.
            setRevealed(res.value.shown ? undefined : res.value.path);
          }}
          onClose={() => setDetail(undefined)}
          onReproduce={(d) => {
            const r = d.recipe;
            setDetail(undefined);
            void generate([
              { prompt: r.prompt, negativePrompt: r.negativePrompt, guidance: r.guidance, steps: r.steps, width: r.width, height: r.height, seed: r.seed, modelId: r.modelId, format: d.format },
            ]);
          }}
          onToggleFavorite={async (d) => {
            const res = await api.invoke('history.setFavorite', { id: d.id, favorite: !d.favorite });
            if (!res.ok) return setError(errorText(res.error));
            setDetail({ ...d, favorite: res.value.favorite });
            setGalleryKey((k) => k + 1);
          }}
          onDelete={async (d) => {
            const host = info?.host;
            // Without a system trash (the browser host) deleting is final, so ask first.
            if (host !== 'electron' && !window.confirm(t('detail.confirmDelete'))) return;
            const res = await api.invoke('history.delete', { id: d.id });
            if (!res.ok) return setError(errorText(res.error));
            setDetail(undefined);
            setGalleryKey((k) => k + 1);
          }}
          onUseAsInput={(d) => {
            setRecipe({ prompt: d.recipe.prompt, steps: Math.max(2, d.recipe.steps), width: d.recipe.width, height: d.recipe.height, modelId: d.recipe.modelId, initImage: { generationId: d.id, strength: 0.5 } });
            setDetail(undefined);
          }}
          onUseRecipe={(d) => {
            setRecipe({
              prompt: d.recipe.prompt,
              negativePrompt: d.recipe.negativePrompt,
              guidance: d.recipe.guidance,
              steps: d.recipe.steps,
              width: d.recipe.width,
              height: d.recipe.height,
              seed: d.recipe.seed,
            });
            setDetail(undefined);
          }}
        />
      )}
    </div>
  );
}
