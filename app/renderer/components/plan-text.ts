// The planner's words in the user's language: a plan by its notice (with the family's own names for its
// parts), marked when its VAE decodes in tiles, and the device line.

import type { Notice } from '../../shared/notices.js';
import type { DeviceSummary, PlanPrediction, PlanReport } from '../../shared/vram-plan.js';
import type { MessageKey } from '../i18n/messages.js';
import { gb } from './units.js';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** Asks the studio how a model runs at a size with these LoRAs (plan.get); undefined when it cannot say. */
export type PlanFor = (modelId: string, width: number, height: number, loras: readonly string[]) => Promise<PlanReport | undefined>;

export function planLabel(t: T, notice: (n: Notice) => string, p: Pick<PlanPrediction, 'notice' | 'vaeTiled'>): string {
  const base = notice(p.notice);
  return p.vaeTiled ? t('plan.tiled', { plan: base }) : base;
}

export function deviceLine(t: T, d: DeviceSummary): string {
  if (d.provider === 'cpu') return t('device.cpu', { threads: d.threads ?? '?', ram: gb(d.ramBytes, 0) });
  return t('device.gpu', { name: d.name, memory: gb(d.memoryBytes, 0) });
}
