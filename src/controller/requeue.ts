import { conditionReasons as R, conditionTypes as T } from '../api/conditions.js';
import type { EtcdClusterStatus } from '../api/types.generated.js';
import type { MembershipStep } from './membership.js';
import type { EtcdView } from './observe-etcd.js';
import type { StepOutcome } from './steps.js';

/** A learner becomes promotable within a second of catching up: look again soon. */
const learnerWaits: ReadonlySet<string> = new Set(['learnerStarting', 'learnerCatchingUp', 'learnerUnrecorded']);

/** The health refresh of a cluster with nothing to do that is not settled (see `settled`). */
export const refreshMs = 30_000;

/**
 * The health refresh of a settled cluster. What Kubernetes shows (a pod's readiness, every
 * second by its probe; a spec, a child or a Secret changed) queues a pass through the watches at
 * once, so this refresh only catches what etcd alone knows: an alarm, an election, a membership
 * changed behind our back. Elections are counted by the raft term, whatever the gap between two
 * passes (src/telemetry/cluster-metrics.ts); renewals, upkeep and every wait ask for their own
 * sooner pass. Each refresh costs a dial and a few etcd calls (about 13 ms of CPU at 200
 * clusters, bench/HISTORY.md), so a fleet of quiet clusters costs half as much at 60 s.
 */
export const settledRefreshMs = 60_000;

/**
 * Whether a cluster is settled, from this pass's status and observation: Available with a
 * healthy quorum, not Progressing, not Degraded, every member a healthy voter, every pod Ready,
 * and no write since the pass before latched status.lastRevision (`latchedBefore`: the status
 * this pass started from). A cluster taking writes keeps the 30 s refresh, so the revision a
 * quorum-loss recovery counts its losses against stays as fresh as before; judged against this
 * pass's own latch instead, steady writes would read as settled on every pass that latched them.
 * Pure.
 */
export function settled(status: EtcdClusterStatus, latchedBefore: EtcdClusterStatus['lastRevision'], etcd: EtcdView | undefined, replicas: number): boolean {
  const is = (type: string, value: string, reason?: string) => status.conditions?.some((c) => c.type === type && c.status === value && (reason === undefined || c.reason === reason)) ?? false;
  if (!is(T.available, 'True', R.quorumHealthy) || !is(T.progressing, 'False') || is(T.degraded, 'True')) return false;
  if (!etcd?.quorumConfirmed || etcd.leaderId === undefined || etcd.members.length !== replicas || status.readyReplicas !== replicas) return false;
  if (!etcd.members.every((m) => m.healthy && !m.isLearner)) return false;
  const latched = latchedBefore ? BigInt(latchedBefore.revision) : undefined;
  return etcd.members.every((m) => m.status?.revision !== undefined && m.status.revision === latched);
}

/**
 * How soon to look again: quickly while a change is under way, every 30 s to refresh health
 * (60 s once settled). The next member's pod turns Ready only after the promotion (and etcd
 * accepts the next learner only then), so a learner is looked at every 250 ms (the floor retries
 * every 20 ms); a change etcd refused for now (its 5 s window after a member joined, a learner
 * not yet in sync) is asked again in 250 ms too: each retry comes up to one interval after the
 * window closed, on the path of every scale-up, and a refusal costs etcd nothing (it changes no
 * state). A certificate renewal shortens the wait, never below 1 s (an overdue one must not
 * loop), and never lengthens it.
 */
export function requeueAfter(step: MembershipStep, outcome: StepOutcome, nextRenewalAt: Date | undefined, now: Date, isSettled = false): number {
  const learnerWait = step.kind === 'wait' && learnerWaits.has(step.reason);
  const refresh = isSettled ? settledRefreshMs : refreshMs;
  const base = learnerWait || outcome === 'notReady' ? 250 : outcome === 'acted' ? 500 : step.kind === 'wait' ? 2_000 : refresh;
  if (!nextRenewalAt) return base;
  return Math.min(base, Math.max(1_000, nextRenewalAt.getTime() - now.getTime()));
}
