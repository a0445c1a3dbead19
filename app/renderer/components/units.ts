// Numbers as people read them: sizes in GB, durations in s, min or h.

import { familyById } from '../../shared/model-families.js';
import type { MessageKey } from '../i18n/messages.js';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

export const GB = 1024 ** 3;
export const MB = 1024 ** 2;

export function gb(bytes: number, digits = 1): string {
  return (bytes / GB).toFixed(digits);
}

export function duration(t: T, seconds: number): string {
  if (seconds < 90) return t('time.seconds', { value: seconds < 10 ? seconds.toFixed(1) : Math.round(seconds) });
  if (seconds < 90 * 60) return t('time.minutes', { value: Math.round(seconds / 60) });
  return t('time.hours', { value: (seconds / 3600).toFixed(seconds < 10 * 3600 ? 1 : 0) });
}

/** A model as the lists show it: the built-in demo in the user's language, others by their name. */
export function modelName(t: T, m: { readonly name: string; readonly isDemo: boolean; readonly family: string }): string {
  return m.isDemo ? t('models.demoName', { family: familyById(m.family)?.title ?? m.family }) : m.name;
}
