// Language context: follows the system language, switchable, remembered.

import { createContext, useContext, useLayoutEffect, useMemo, useState, type ReactNode } from 'react';
import { NOTICES, noticeText, type Notice, type NoticeKey } from '../../shared/notices.js';
import type { SerializedError } from '../../shared/result.js';
import { LOCALES, format, pickLocale, type Locale, type MessageKey } from './messages.js';
import { NOTICES_ZH_CN } from './notices-zh.js';

/** Plain function properties (not methods), so components can destructure them. */
interface I18n {
  readonly locale: Locale;
  readonly setLocale: (l: Locale) => void;
  readonly t: (key: MessageKey, vars?: Record<string, string | number>) => string;
  /** A notice from main or the worker, in this language. */
  readonly notice: (n: Notice) => string;
  /** What went wrong, in this language. */
  readonly errorText: (e: SerializedError) => string;
}

const NOTICE_TEMPLATES: Readonly<Record<Locale, Readonly<Record<NoticeKey, string>>>> = { en: NOTICES, 'zh-CN': NOTICES_ZH_CN };

const I18nContext = createContext<I18n | undefined>(undefined);
const STORAGE_KEY = 'studio.locale';

function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && saved in LOCALES) return saved as Locale;
  return pickLocale(navigator.languages);
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  // Screen readers, fonts and line breaking follow <html lang>: set from the start, not only on a switch.
  useLayoutEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const value = useMemo<I18n>(
    () => ({
      locale,
      setLocale: (l) => {
        localStorage.setItem(STORAGE_KEY, l);
        setLocaleState(l);
      },
      t: (key, vars) => format(LOCALES[locale][key], vars),
      notice: (n) => noticeText(n, NOTICE_TEMPLATES[locale]),
      errorText: (e) => noticeText(e.notice, NOTICE_TEMPLATES[locale]),
    }),
    [locale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error('useI18n outside I18nProvider');
  return ctx;
}
