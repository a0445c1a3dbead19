// Running under a plan, and when the device runs out of memory, under the next smaller one: the user is
// told which plan failed and which one made the image.

import { StudioError } from '../shared/result.js';
import { notice } from '../shared/notices.js';
import { describePlan, isOutOfMemory, type ExecutionChoice } from '../shared/vram-plan.js';

export interface FallbackOutcome<T> {
  readonly value: T;
  readonly plan: ExecutionChoice;
}

export async function withPlanFallback<T>(
  first: ExecutionChoice,
  fallbacks: (failed: ExecutionChoice) => readonly ExecutionChoice[],
  attempt: (plan: ExecutionChoice) => Promise<T>,
  onFallback: (from: ExecutionChoice, to: ExecutionChoice, reason: string) => void,
): Promise<FallbackOutcome<T>> {
  const tried = new Set<string>();
  let plan = first;
  for (;;) {
    tried.add(describePlan(plan));
    try {
      return { value: await attempt(plan), plan };
    } catch (e) {
      const message = (e as Error).message;
      if (!isOutOfMemory(message)) throw e;
      const next = fallbacks(plan).find((p) => !tried.has(describePlan(p)));
      if (!next) {
        throw new StudioError(
          'inference-failed',
          notice('error.outOfMemoryNoPlan', { plan: describePlan(plan), tried: [...tried].join(', ') }),
        );
      }
      onFallback(plan, next, message.split('\n')[0]!.slice(0, 200));
      plan = next;
    }
  }
}
