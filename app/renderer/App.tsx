// The studio window: create on the left, the result in the middle, the gallery below; the recipe in a dialog.

import { useCallback, useEffect, useState, type DragEvent } from 'react';
import type { AppInfo, GenerationDetail, ImportOutcome, LoraCard, StudioApi } from '../shared/contract.js';
import type { GenerationRequestInput } from '../shared/generation.js';
import { CreatePanel } from './components/CreatePanel.js';
import { DetailDialog } from './components/DetailDialog.js';
import { Gallery } from './components/Gallery.js';
import { ResultView } from './components/ResultView.js';
import { StylesPanel } from './components/StylesPanel.js';
import { useI18n } from './i18n/i18n.js';
import { LOCALES, type Locale } from './i18n/messages.js';
import { idleJob, reduceJob, type JobView } from './state/job-state.js';

export function App({ api }: { api: StudioApi }) {
  const { t, locale, setLocale } = useI18n();
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
    void api.invoke('app.info', {}).then((r) => (r.ok ? setInfo(r.value) : setError(r.error.message)));
    void loadLoras();
    return api.on('job', (e) => {
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

  const generate = useCallback(
    async (request: GenerationRequestInput) => {
      setError(undefined);
      const r = await api.invoke('generate.start', request);
      if (!r.ok) return setJob({ status: 'failed', jobId: undefined, error: r.error });
      // Events for this job may already have arrived; they are applied from 'queued' on.
      setJob({ status: 'running', jobId: r.value.jobId, progress: { phase: 'queued', step: 0, totalSteps: r.value.request.steps } });
    },
    [api],
  );
  const cancel = useCallback(() => {
    if (job.status === 'running') void api.invoke('generate.cancel', { jobId: job.jobId });
  }, [api, job]);
  const open = useCallback(
    async (id: string) => {
      const r = await api.invoke('history.get', { id });
      if (r.ok) setDetail(r.value);
      else setError(r.error.message);
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
        <CreatePanel info={info} loras={loras} busy={job.status === 'running'} recipe={recipe} onGenerate={(r) => void generate(r)} onCancel={cancel} />
        <ResultView job={job} />
        <Gallery api={api} refreshKey={galleryKey} onOpen={(id) => void open(id)} onError={setError} />
        <StylesPanel loras={loras} outcomes={outcomes} importing={importing} />
      </main>
      {detail && (
        <DetailDialog
          detail={detail}
          onClose={() => setDetail(undefined)}
          onUseRecipe={(d) => {
            setRecipe({ prompt: d.recipe.prompt, steps: d.recipe.steps, width: d.recipe.width, height: d.recipe.height, seed: d.recipe.seed });
            setDetail(undefined);
          }}
        />
      )}
    </div>
  );
}
