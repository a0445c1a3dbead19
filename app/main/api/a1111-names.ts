// AUTOMATIC1111's sampler and scheduler names, and which of them the studio runs for a model family.
// Few-step flow-matching models have one right sampler (flow-match Euler with the model's own shift
// schedule): a request naming another A1111 sampler or scheduler runs with that one, and the answer's
// `info` and infotext say so. A name A1111 itself does not know is refused, as A1111 refuses it.

import type { ModelInfo } from '../../shared/contract.js';
import { FAMILIES } from '../../shared/model-families.js';
import { a1111Sampler } from '../../shared/samplers.js';

/** A1111 1.10's samplers (name, aliases), as /sdapi/v1/samplers lists them there. */
const A1111_SAMPLERS: readonly (readonly [string, readonly string[]])[] = [
  ['DPM++ 2M', ['k_dpmpp_2m']],
  ['DPM++ SDE', ['k_dpmpp_sde']],
  ['DPM++ 2M SDE', ['k_dpmpp_2m_sde']],
  ['DPM++ 2M SDE Heun', ['k_dpmpp_2m_sde_heun']],
  ['DPM++ 2S a', ['k_dpmpp_2s_a']],
  ['DPM++ 3M SDE', ['k_dpmpp_3m_sde']],
  ['Euler a', ['k_euler_a']],
  ['Euler', ['k_euler']],
  ['LMS', ['k_lms']],
  ['Heun', ['k_heun']],
  ['DPM2', ['k_dpm_2']],
  ['DPM2 a', ['k_dpm_2_a']],
  ['DPM fast', ['k_dpm_fast']],
  ['DPM adaptive', ['k_dpm_ad']],
  ['Restart', ['restart']],
  ['DDIM', ['ddim']],
  ['DDIM CFG++', ['ddim_cfgpp']],
  ['PLMS', ['plms']],
  ['UniPC', ['unipc']],
  ['LCM', ['k_lcm']],
];

/** A1111 1.10's schedulers (name, label). */
const A1111_SCHEDULERS: readonly (readonly [string, string])[] = [
  ['automatic', 'Automatic'],
  ['uniform', 'Uniform'],
  ['karras', 'Karras'],
  ['exponential', 'Exponential'],
  ['polyexponential', 'Polyexponential'],
  ['sgm_uniform', 'SGM Uniform'],
  ['kl_optimal', 'KL Optimal'],
  ['align_your_steps', 'Align Your Steps'],
  ['simple', 'Simple'],
  ['normal', 'Normal'],
  ['ddim', 'DDIM'],
  ['beta', 'Beta'],
];

/** What the studio runs for each model family (its default sampler), under A1111's names. */
const FAMILY_SAMPLING: Readonly<Record<ModelInfo['family'], { readonly sampler: string; readonly scheduler: string; readonly label: string }>> = Object.fromEntries(
  Object.values(FAMILIES).map((f) => {
    const { sampler, schedule } = a1111Sampler(f.defaultSampler);
    return [f.id, { sampler, scheduler: A1111_SCHEDULERS.find(([, label]) => label === schedule)?.[0] ?? 'automatic', label: schedule }];
  }),
) as Record<ModelInfo['family'], { readonly sampler: string; readonly scheduler: string; readonly label: string }>;

export interface SamplerItem {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly options: Readonly<Record<string, string>>;
}

export interface SchedulerItem {
  readonly name: string;
  readonly label: string;
  readonly aliases: readonly string[] | null;
  readonly default_rho: number;
  readonly need_inner_model: boolean;
}

function norm(name: string): string {
  return name.trim().toLowerCase();
}

/** The samplers the studio runs for these families (what /sdapi/v1/samplers lists). */
export function samplerItems(families: readonly ModelInfo['family'][]): SamplerItem[] {
  const names = [...new Set(families.map((f) => FAMILY_SAMPLING[f].sampler))];
  return names.map((name) => ({ name, aliases: A1111_SAMPLERS.find(([n]) => n === name)?.[1] ?? [], options: {} }));
}

export function schedulerItems(families: readonly ModelInfo['family'][]): SchedulerItem[] {
  const names = [...new Set(families.map((f) => FAMILY_SAMPLING[f].scheduler))];
  return names.map((name) => ({ name, label: A1111_SCHEDULERS.find(([n]) => n === name)?.[1] ?? name, aliases: null, default_rho: -1, need_inner_model: false }));
}

/** A1111's sampler name for `requested` (a name, an alias, or an old "<sampler> Karras" form), or undefined when A1111 knows no such sampler. */
export function knownSampler(requested: string): string | undefined {
  const want = norm(requested);
  for (const [name, aliases] of A1111_SAMPLERS) {
    if (norm(name) === want || aliases.some((a) => norm(a) === want)) return name;
  }
  // Before 1.9 the scheduler was part of the name: "DPM++ 2M Karras", "DPM++ SDE Exponential".
  for (const [, label] of A1111_SCHEDULERS) {
    const suffix = ` ${norm(label)}`;
    if (want.endsWith(suffix)) return knownSampler(requested.trim().slice(0, -suffix.length));
  }
  return undefined;
}

export function knownScheduler(requested: string): string | undefined {
  const want = norm(requested);
  return A1111_SCHEDULERS.find(([name, label]) => norm(name) === want || norm(label) === want)?.[0];
}

/** The sampler and scheduler that run for a family, by A1111 name, and how the infotext words the schedule. */
export function familySampling(family: ModelInfo['family']): { readonly sampler: string; readonly scheduler: string; readonly label: string } {
  return FAMILY_SAMPLING[family];
}
