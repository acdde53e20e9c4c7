import type { MembershipStep } from './membership.js';
import type { StepOutcome } from './steps.js';

/** A learner becomes promotable within a second of catching up: look again soon. */
const learnerWaits: ReadonlySet<string> = new Set(['learnerStarting', 'learnerCatchingUp']);

/**
 * How soon to look again: quickly while a change is under way, every 30 s to refresh health.
 * The next member's pod turns Ready only after the promotion (and etcd accepts the next learner only
 * then), so a learner is looked at every 250 ms (the floor retries every 20 ms); a change etcd
 * refused for now (its 5 s window after a member joined, a learner not yet in sync) is asked again
 * in 250 ms too: each retry comes up to one interval after the window closed, on the path of every
 * scale-up, and a refusal costs etcd nothing (it changes no state). A certificate renewal
 * shortens the wait, never below 1 s (an overdue one must not loop), and never lengthens it.
 */
export function requeueAfter(step: MembershipStep, outcome: StepOutcome, nextRenewalAt: Date | undefined, now: Date): number {
  const learnerWait = step.kind === 'wait' && learnerWaits.has(step.reason);
  const base = learnerWait || outcome === 'notReady' ? 250 : outcome === 'acted' ? 500 : step.kind === 'wait' ? 2_000 : 30_000;
  if (!nextRenewalAt) return base;
  return Math.min(base, Math.max(1_000, nextRenewalAt.getTime() - now.getTime()));
}
