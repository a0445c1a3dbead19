// Where downloads come from (ModelScope, Hugging Face or a mirror): the same choice on the first-run card and
// in the Models view, stored once by App.

import type { DownloadSource } from '../../shared/contract.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/messages.js';

export function SourceSelect({ label, source, onSource }: { readonly label: MessageKey; readonly source: DownloadSource; readonly onSource: (s: DownloadSource) => void }) {
  const { t } = useI18n();
  return (
    <label>
      {t(label)}
      <select value={source} onChange={(e) => onSource(e.target.value as DownloadSource)}>
        <option value="modelscope">{t('models.source.modelscope')}</option>
        <option value="huggingface">{t('models.source.huggingface')}</option>
        <option value="mirror">{t('models.source.mirror')}</option>
      </select>
    </label>
  );
}
