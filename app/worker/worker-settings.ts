// What the environment tells the worker: providers to try, a plan to force, a precision to force. Read
// once; a value that makes no sense becomes a clear error for every job (and plan request) instead of a
// worker that dies before it can say why.

import { notice } from '../shared/notices.js';
import { isPrecision, PRECISIONS, type Precision } from '../shared/precision.js';
import { StudioError } from '../shared/result.js';
import { parsePlan, type ExecutionChoice } from '../shared/vram-plan.js';
import { defaultProviders, PROVIDERS, type Provider } from './ort.js';

export interface WorkerSettings {
  /** Tried in order (STUDIO_PROVIDERS, e.g. "cuda,cpu"); default the CPU. */
  readonly providers: readonly Provider[];
  /** STUDIO_PLAN: replaces the planner's choice. */
  readonly forcedPlan?: ExecutionChoice;
  /** STUDIO_PRECISION: replaces the provider's default precision. */
  readonly precision?: Precision;
}

export type SettingsResult = { readonly ok: true; readonly value: WorkerSettings } | { readonly ok: false; readonly error: StudioError };

const PLAN_FORMS = 'resident, sequential, streamed:N, int8, int4, int4-streamed:N (each optionally +tiled), or auto';

export function workerSettings(env: Readonly<Record<string, string | undefined>>): SettingsResult {
  const providerText = env.STUDIO_PROVIDERS?.trim();
  const providers: string[] = providerText ? providerText.split(',').map((p) => p.trim().toLowerCase()) : defaultProviders();
  const unknown = providers.filter((p) => !PROVIDERS.includes(p as Provider));
  if (unknown.length > 0 || providers.length === 0) {
    return { ok: false, error: new StudioError('invalid-request', notice('error.badSetting', { name: 'STUDIO_PROVIDERS', value: providerText ?? '', allowed: PROVIDERS.join(', ') }), 'STUDIO_PROVIDERS') };
  }
  let forcedPlan: ExecutionChoice | undefined;
  try {
    forcedPlan = parsePlan(env.STUDIO_PLAN?.trim());
  } catch {
    return { ok: false, error: new StudioError('invalid-request', notice('error.badSetting', { name: 'STUDIO_PLAN', value: env.STUDIO_PLAN ?? '', allowed: PLAN_FORMS }), 'STUDIO_PLAN') };
  }
  const precisionText = env.STUDIO_PRECISION?.trim().toLowerCase();
  if (precisionText && precisionText !== 'auto' && !isPrecision(precisionText)) {
    return { ok: false, error: new StudioError('invalid-request', notice('error.badSetting', { name: 'STUDIO_PRECISION', value: precisionText, allowed: `${PRECISIONS.join(', ')}, auto` }), 'STUDIO_PRECISION') };
  }
  return {
    ok: true,
    value: {
      providers: providers as Provider[],
      ...(forcedPlan ? { forcedPlan } : {}),
      ...(precisionText && isPrecision(precisionText) ? { precision: precisionText } : {}),
    },
  };
}
