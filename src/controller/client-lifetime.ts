import type { Result } from '../runtime/reconciler.js';

/**
 * A pass whose next look is at least this far away leaves nothing under way: the health refresh
 * of a quiet cluster (30 s, 60 s once settled: requeue.ts). Everything that acts looks again
 * sooner (a learner every 250 ms, a step etcd refused every 500 ms, a wait every 2 s, a renewal
 * due, upkeep running).
 */
export const idleAfterMs = 10_000;

/**
 * Whether a cluster's etcd client stays open after a pass that returned `result`. Open while the
 * cluster is acting, so learners, rolls and retries reuse their TLS connections; closed once the
 * pass leaves nothing to do before the next refresh, since an open client holds a TLS session and
 * an HTTP/2 channel per member for as long as the process runs, and the refresh (or the next
 * event) dials again. Decided from this pass alone, every pass.
 */
export function keepClientOpen(result: Result): boolean {
  return result.requeueAfterMs !== undefined && result.requeueAfterMs < idleAfterMs;
}
