/**
 * Failed restore pods, pure: run them again or stop. Shared by spec.restore (plan.ts) and a
 * consented recovery from a backup (src/recovery), which run the same pods against the same
 * object store: an outage of it must be forgiven the same way on both paths.
 *
 * - A pod whose fetch failed in a way that may clear by itself (exit 75: unreachable, 5xx, 429,
 *   408) is run again, up to maxRestoreRetries times per volume, after a pause that doubles.
 * - Any other failure is a verdict (object or bucket missing, credentials rejected, digest
 *   mismatch, snapshot too new), as is the last transient one: stop, in the pods' own words,
 *   keeping the failed pods as the record. Deleting one asks for another try with the count back
 *   at 0 (the user fixed the cause, so the limit on a cause that may clear by itself starts again).
 * - The count lives on the pod; the claim carries it only across the gap between the operator
 *   deleting a pod to retry it and making the next, marked pending: a pod made without that mark
 *   is a first run.
 */
import type { ClaimView, RestorePodView } from './plan.js';

export const maxRestoreRetries = 4;
/** Pause before running a restore pod again: 10 s, 20 s, 40 s, 80 s. */
export const restoreRetryDelayMs = (retries: number) => 10_000 * 2 ** retries;

export interface PodRetry {
  ordinal: number;
  name: string;
  /** The retry the next pod of this ordinal is. */
  retries: number;
  failure: string;
}

export type FailedPodsVerdict =
  | { kind: 'retryPods'; pods: PodRetry[] }
  | { kind: 'wait'; message: string }
  /** `why` names the failed pods and their reasons, without advice: each path adds its own. */
  | { kind: 'stop'; why: string };

const retriesOf = (pods: readonly RestorePodView[], claims: readonly ClaimView[]) => (ordinal: number) =>
  pods.find((p) => p.ordinal === ordinal)?.retries ?? claims.find((c) => c.ordinal === ordinal)?.retries ?? 0;

/** What to do about the failed restore pods; undefined when none failed. */
export function judgeFailedPods(pods: readonly RestorePodView[], claims: readonly ClaimView[], nowMs: number): FailedPodsVerdict | undefined {
  const failed = pods.filter((p) => p.phase === 'Failed').sort((a, b) => a.ordinal - b.ordinal);
  if (failed.length === 0) return undefined;
  const retries = retriesOf(pods, claims);
  if (failed.every((p) => p.transient && retries(p.ordinal) < maxRestoreRetries)) {
    const dueAt = (p: RestorePodView) => (p.failedAtMs ?? 0) + restoreRetryDelayMs(retries(p.ordinal));
    const due = failed.filter((p) => dueAt(p) <= nowMs);
    if (due.length > 0) return { kind: 'retryPods', pods: due.map((p) => ({ ordinal: p.ordinal, name: p.name, retries: retries(p.ordinal) + 1, failure: p.failure ?? 'no reason given' })) };
    const next = failed.reduce((a, b) => (dueAt(b) < dueAt(a) ? b : a));
    const inS = Math.max(1, Math.ceil((dueAt(next) - nowMs) / 1000));
    return { kind: 'wait', message: `restore pod ${next.name} failed, which may clear by itself: ${next.failure ?? 'no reason given'}; running it again in ${inS} s (retry ${retries(next.ordinal) + 1} of ${maxRestoreRetries})` };
  }
  // Pods that failed for the same reason (the same object) are named together, the reason once.
  const byReason = new Map<string, string[]>();
  const reasonOf = (p: RestorePodView) => `${p.failure ?? 'no reason given'}${p.transient ? ` (run ${retries(p.ordinal) + 1} times)` : ''}`;
  for (const p of failed) byReason.set(reasonOf(p), [...(byReason.get(reasonOf(p)) ?? []), p.name]);
  return { kind: 'stop', why: [...byReason].map(([reason, names]) => `restore pod${names.length > 1 ? 's' : ''} ${names.join(', ')} failed: ${reason}`).join('; ') };
}

/**
 * For restore pods about to be made: the retry each is (the claim's count when the operator
 * deleted its pod to retry it, else 0), and the ordinals whose count starts again because a user
 * deleted the failed pod.
 */
export function nextPodRetries(ordinals: readonly number[], claims: readonly ClaimView[]): { retries: number[]; reset: number[] } {
  const claim = (ordinal: number) => claims.find((c) => c.ordinal === ordinal);
  return {
    retries: ordinals.map((i) => (claim(i)?.retryPending ? (claim(i)?.retries ?? 0) : 0)),
    reset: ordinals.filter((i) => !claim(i)?.retryPending && (claim(i)?.retries ?? 0) > 0),
  };
}
