// The planner's words in the user's language: a plan by its kind (not the planner's English label) and the
// device line.

import type { DeviceSummary, PlanPrediction } from '../../shared/vram-plan.js';
import type { MessageKey } from '../i18n/messages.js';
import { gb } from './units.js';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function planLabel(t: T, p: Pick<PlanPrediction, 'kind' | 'groupBlocks' | 'vaeTiled'>): string {
  const base = t(`plan.kind.${p.kind}`, { blocks: p.groupBlocks ?? 0 });
  return p.vaeTiled ? t('plan.tiled', { plan: base }) : base;
}

export function deviceLine(t: T, d: DeviceSummary): string {
  if (d.provider === 'cpu') return t('device.cpu', { threads: d.threads ?? '?', ram: gb(d.ramBytes, 0) });
  return t('device.gpu', { name: d.name, memory: gb(d.memoryBytes, 0) });
}
