import type { Condition } from '../api/types.generated.js';

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * Conditions for this pass, carrying `observedGeneration`. `lastTransitionTime` moves only when a
 * condition's status changes; a new reason or message alone keeps the old time.
 */
export function withTransitions(next: ConditionInput[], previous: Condition[] | undefined, generation: number | undefined, now: Date): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now.toISOString();
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}
