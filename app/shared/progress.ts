// Progress of a generation job, one union for every phase so one reducer in the UI handles it.

import type { Notice } from './notices.js';

export const JOB_PHASES = ['queued', 'loading', 'encoding', 'denoising', 'decoding', 'saving'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

export interface JobProgress {
  readonly phase: JobPhase;
  /** Completed denoising steps; 0 outside the denoising phase. */
  readonly step: number;
  readonly totalSteps: number;
  /** Something the user should know about this job: a cache being made, a plan that ran out of memory. */
  readonly note?: Notice;
  /**
   * What the image looks like so far (denoising steps): a small JPEG as a data URL, projected from the
   * latents without the VAE.
   */
  readonly preview?: string;
}
