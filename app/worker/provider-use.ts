// Which execution providers a runner's sessions actually got (a provider that cannot load is skipped, with its
// reason), and the device line every recipe records from it. One per runner, for every family.

import type { Precision } from '../shared/precision.js';
import { describePlan, type ExecutionChoice } from '../shared/vram-plan.js';
import type { SessionConfig } from './ort.js';

type ProviderCallback = NonNullable<SessionConfig['onProvider']>;

export class ProviderUse {
  private readonly used = new Set<string>();
  private readonly fallbacks = new Map<string, string>();

  /** Notes what each session got, then tells `next` (the caller's own callback) as before. */
  listener(next?: ProviderCallback): ProviderCallback {
    return (provider, skipped) => {
      this.used.add(provider);
      for (const s of skipped) this.fallbacks.set(s.provider, s.reason);
      next?.(provider, skipped);
    };
  }

  /**
   * Where it runs, in words: the provider, the denoiser's precision (the text encoder's and VAE's where they
   * differ), the threads, the plan, and any provider that could not load.
   */
  describe(o: { readonly session: Pick<SessionConfig, 'providers' | 'intraOpThreads'>; readonly precision: Precision; readonly textEncoder: Precision; readonly vae: Precision; readonly plan: ExecutionChoice }): string {
    const threads = o.session.intraOpThreads ? `, ${o.session.intraOpThreads} threads` : '';
    const fellBack = [...this.fallbacks.keys()].filter((p) => !this.used.has(p));
    const where = this.used.size ? [...this.used].join('+') : (o.session.providers ?? ['cpu'])[0];
    const others = [o.textEncoder !== o.precision ? `text encoder ${o.textEncoder}` : '', o.vae !== o.precision ? `VAE ${o.vae}` : ''].filter(Boolean);
    return `${where} ${o.precision}${others.length ? ` (${others.join(', ')})` : ''}${threads}, plan ${describePlan(o.plan)}${fellBack.length ? `; ${fellBack.join(', ')} unavailable` : ''}`;
  }
}
