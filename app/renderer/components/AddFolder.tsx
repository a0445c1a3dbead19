// "Use a model folder I already have": the system's folder picker in the desktop app, a path field in the
// browser (which cannot see the studio's disk). The studio checks the folder before it is listed.

import { useState } from 'react';
import type { AppInfo, ModelInfo, StudioApi } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';

export function AddFolder({ api, info, onAdded }: { readonly api: StudioApi; readonly info: AppInfo; readonly onAdded: (model: ModelInfo) => void }) {
  const { t, errorText } = useI18n();
  const [path, setPath] = useState('');
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState<string>();
  const [error, setError] = useState<string>();
  const add = async (folder: string) => {
    setAdding(true);
    setError(undefined);
    setAdded(undefined);
    const r = await api.invoke('models.addFolder', { path: folder });
    setAdding(false);
    if (!r.ok) return setError(errorText(r.error));
    setAdded(r.value.name);
    onAdded(r.value);
  };
  const pick = async () => {
    const r = await api.invoke('models.pickFolder', {});
    if (!r.ok) return setError(errorText(r.error));
    if (r.value.path) await add(r.value.path);
  };
  return (
    <div className="add-folder">
      {info.host === 'electron' ? (
        <button type="button" className="secondary" disabled={adding} onClick={() => void pick()}>
          {t('first.pick')}
        </button>
      ) : (
        <form
          className="row wrap"
          onSubmit={(e) => {
            e.preventDefault();
            void add(path);
          }}
        >
          <label className="grow">
            {t('first.pathLabel')}
            <input type="text" value={path} placeholder={t('first.pathPlaceholder')} onChange={(e) => setPath(e.target.value)} />
          </label>
          <button type="submit" className="secondary" disabled={adding || path.trim() === ''}>
            {t('first.add')}
          </button>
        </form>
      )}
      {adding && <p role="status">{t('first.adding')}</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {added && (
        <p role="status" className="ok">
          {t('first.added', { name: added })}
        </p>
      )}
    </div>
  );
}
