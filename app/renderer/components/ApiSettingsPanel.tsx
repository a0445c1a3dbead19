// The A1111-compatible API as a setting: on or off, its port, HTTP Basic credentials, and whether images
// of requests that ask not to be saved are kept anyway; where to point Open WebUI, SillyTavern or a script.

import { useEffect, useState, type FormEvent } from 'react';
import type { A1111ApiState, StudioApi } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';

export function ApiSettingsPanel({ api }: { readonly api: StudioApi }) {
  const { t, errorText } = useI18n();
  const [state, setState] = useState<A1111ApiState>();
  const [enabled, setEnabled] = useState(false);
  const [port, setPort] = useState(7860);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [keepUnsaved, setKeepUnsaved] = useState(true);
  const [error, setError] = useState<string>();
  const [saving, setSaving] = useState(false);

  const show = (s: A1111ApiState) => {
    setState(s);
    setEnabled(s.enabled);
    setPort(s.port);
    setUsername(s.username);
    setKeepUnsaved(s.keepUnsavedImages);
    setPassword('');
  };

  useEffect(() => {
    void api.invoke('a1111.get', {}).then((r) => (r.ok ? show(r.value) : setError(errorText(r.error))));
  }, [api]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(undefined);
    const r = await api.invoke('a1111.configure', { enabled, port, keepUnsavedImages: keepUnsaved, username, ...(password !== '' ? { password } : {}) });
    setSaving(false);
    if (r.ok) show(r.value);
    else setError(errorText(r.error));
  };

  const locked = state?.fromCommandLine === true;
  return (
    <section className="panel api-settings" aria-labelledby="api-heading">
      <h2 id="api-heading">{t('api.heading')}</h2>
      <p className="meta">{t('api.intro')}</p>
      <form onSubmit={(e) => void save(e)}>
        <fieldset disabled={locked || saving}>
          <label className="check">
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> {t('api.enabled')}
          </label>
          <div className="row">
            <label>
              {t('api.port')}
              <input type="number" min={1024} max={65535} value={port} onChange={(e) => setPort(Number(e.target.value))} />
            </label>
            <label>
              {t('api.username')}
              <input type="text" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
            </label>
            <label>
              {t('api.password')}
              <input type="password" autoComplete="new-password" value={password} placeholder={state?.hasPassword ? t('api.passwordKept') : ''} onChange={(e) => setPassword(e.target.value)} />
            </label>
          </div>
          <p className="meta">{t('api.credentialsHint')}</p>
          <label className="check">
            <input type="checkbox" checked={keepUnsaved} onChange={(e) => setKeepUnsaved(e.target.checked)} /> {t('api.keepUnsaved')}
          </label>
          <div className="actions">
            <button type="submit" className="secondary">
              {t('api.save')}
            </button>
          </div>
        </fieldset>
      </form>
      <p role="status" className="meta">
        {locked ? t('api.fromCommandLine', { url: state?.url ?? '' }) : state?.running ? t('api.running', { url: state.url ?? '' }) : t('api.off')}
      </p>
      {state?.error && (
        <p role="alert" className="error">
          {errorText(state.error)}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
