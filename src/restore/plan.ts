/**
 * Restore into a new cluster (spec.restore), pure: which single thing the pass does next.
 *
 * The snapshot is laid onto each member's volume before any etcd runs, by one restore pod per
 * ordinal (fetch and check the object, `etcdutl snapshot restore` from the target etcd image,
 * install the data directory). Only then does the usual bootstrap create the StatefulSet, whose
 * pods find a data directory and start as one cluster. In plain words:
 *
 * - Restore only ever applies to a cluster that never ran: no StatefulSet and no cluster ID.
 *   Once the StatefulSet exists the restore is over; its leftover pods are deleted.
 * - A failed restore pod is run again when its fetch failed in a way that may clear by itself, up
 *   to maxRestoreRetries times; any other failure stops everything with its own words, the
 *   failed pod kept as the record of why (retries.ts, shared with a recovery from a backup).
 * - The source must be ready (an EtcdBackup that Succeeded) and not newer than spec.version:
 *   etcd cannot run a data directory from a later minor release. Checked before anything is made.
 * - Volumes are created by the operator for this cluster object (marked with its UID). A claim of
 *   the same name that is not ours holds someone's data: the restore stops rather than use it.
 * - A restore pod that cannot start (its credentials Secret deleted, its image not pulled) is not a
 *   verdict: the kubelet keeps trying, so the restore waits, but says why in Degraded, since only a
 *   person can fix it; without that, a deleted Secret would read as "Restoring" for ever.
 * - Claims first, then the restore pods, then wait until every pod Succeeded. All pods succeeded
 *   means done: the membership planner takes over. Pods are deleted only after the StatefulSet
 *   exists, so a stale view can never run a restore again on a volume etcd already uses.
 */
import { parseVersion } from '../api/version.js';
import { type PodRetry, judgeFailedPods, nextPodRetries } from './retries.js';
import type { FetchSpec } from './source.js';

export interface RestoreSource {
  /** Where the snapshot comes from, for messages: `EtcdBackup x (bucket/key)` or `bucket/key`. */
  description: string;
  /** etcd version the snapshot was taken with, when known (an EtcdBackup records it). */
  etcdVersion?: string;
  fetch: FetchSpec;
}

export type SourceResolution = { state: 'ready'; source: RestoreSource } | { state: 'waiting'; message: string } | { state: 'invalid'; message: string };

export interface ClaimView {
  ordinal: number;
  /** The claim carries this cluster object's restore mark. */
  ours: boolean;
  /** How many times its restore pod was run again after a transient failure (recorded on it). */
  retries?: number;
  /** The operator deleted the restore pod to run it again and has not made the next yet. */
  retryPending?: boolean;
}

export interface RestorePodView {
  ordinal: number;
  name: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** Why it failed: the failed container's name and termination message. */
  failure?: string;
  /** It failed in a way that may clear by itself (exit 75 of the fetch step). */
  transient?: boolean;
  /** When it failed (ms since the epoch), the start of the pause before it runs again. */
  failedAtMs?: number;
  /** Which retry the pod is (its annotation); absent on pods of operators before it was recorded. */
  retries?: number;
  /** Why it cannot start, when a step waits on something only a person can fix (a missing Secret, an image). */
  blocked?: string;
}

export interface RestoreObservation {
  /** spec.restore is set. */
  requested: boolean;
  replicas: number;
  targetVersion: string;
  /** A cluster ID is latched: the cluster formed, so it runs on its own data. */
  formed: boolean;
  statefulSetExists: boolean;
  paused: boolean;
  /** Resolved while the restore runs; undefined when it was not looked up this pass. */
  source: SourceResolution | undefined;
  claims: ClaimView[];
  pods: RestorePodView[];
  /** The time of this pass (ms since the epoch): the planner reads no clock. */
  nowMs: number;
}

export type RestoreStep =
  | { kind: 'inactive' }
  | { kind: 'deletePods'; names: string[] }
  | { kind: 'fail'; message: string }
  | { kind: 'wait'; message: string }
  | { kind: 'createClaims'; ordinals: number[] }
  /** `retries[i]` is the retry the pod of `ordinals[i]` is; `reset` are those whose failed pod a user deleted. */
  | { kind: 'createPods'; ordinals: number[]; retries: number[]; reset: number[] }
  /** Record the retry on each volume, then delete its failed pod: the next pass makes it again. */
  | { kind: 'retryPods'; pods: PodRetry[] }
  /** Every pod exists, some cannot start: wait, and say why in Degraded (it goes on once fixed). */
  | { kind: 'blocked'; message: string }
  | { kind: 'done' };

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export { maxRestoreRetries, restoreRetryDelayMs } from './retries.js';

/** A snapshot from a later minor release than the target cannot be run by the target's etcd. */
export function versionProblem(snapshot: string | undefined, target: string): string | undefined {
  const s = snapshot ? parseVersion(snapshot) : undefined;
  const t = parseVersion(target);
  if (!s || !t) return undefined;
  if (s.major > t.major || (s.major === t.major && s.minor > t.minor)) {
    return `the snapshot was taken with etcd ${snapshot}, newer than spec.version ${target}: etcd ${t.major}.${t.minor} cannot run data of etcd ${s.major}.${s.minor}. Create the cluster with spec.version ${s.major}.${s.minor} or later`;
  }
  return undefined;
}

export function planRestore(o: RestoreObservation): RestoreStep {
  if (!o.requested) return { kind: 'inactive' };
  if (o.statefulSetExists || o.formed) return o.pods.length > 0 ? { kind: 'deletePods', names: o.pods.map((p) => p.name).sort() } : { kind: 'inactive' };
  const failed = judgeFailedPods(o.pods, o.claims, o.nowMs);
  if (failed?.kind === 'stop') return { kind: 'fail', message: `${failed.why}. Nothing was started; fix the cause, then delete the failed restore pods to try again, with the retry count back at 0 (or delete this EtcdCluster)` };
  if (failed) return failed;
  const wanted = range(o.replicas);
  const succeeded = new Set(o.pods.filter((p) => p.phase === 'Succeeded').map((p) => p.ordinal));
  if (wanted.every((i) => succeeded.has(i))) return { kind: 'done' };
  if (o.paused) return { kind: 'wait', message: `spec.paused is true: the restore waits (${succeeded.size}/${o.replicas} members restored)` };
  const podded = new Set(o.pods.map((p) => p.ordinal));
  // Every restore pod made: each carries what it fetches and checks, so the source only gates
  // making things. An EtcdBackup deleted now (its object stays) must not read as a stopped
  // restore while the pods go on and the cluster then starts.
  if (wanted.every((i) => podded.has(i))) return running(o, succeeded.size);
  if (!o.source) return { kind: 'wait', message: 'looking up the snapshot to restore' };
  if (o.source.state === 'invalid') return { kind: 'fail', message: `${o.source.message}. Nothing was started` };
  if (o.source.state === 'waiting') return { kind: 'wait', message: o.source.message };
  const tooNew = versionProblem(o.source.source.etcdVersion, o.targetVersion);
  if (tooNew) return { kind: 'fail', message: `${tooNew}. Nothing was started` };
  const foreign = o.claims.filter((c) => !c.ours && c.ordinal < o.replicas).map((c) => c.ordinal);
  if (foreign.length > 0) {
    return { kind: 'fail', message: `the volumes of ordinals ${foreign.join(', ')} exist already and were not created for this restore (left by an earlier cluster of this name?): the restore does not write over them. Delete those PersistentVolumeClaims if their data is not needed, or restore into a cluster with another name. Nothing was started` };
  }
  const claimed = new Set(o.claims.map((c) => c.ordinal));
  const missingClaims = wanted.filter((i) => !claimed.has(i));
  if (missingClaims.length > 0) return { kind: 'createClaims', ordinals: missingClaims };
  const missingPods = wanted.filter((i) => !podded.has(i));
  return { kind: 'createPods', ordinals: missingPods, ...nextPodRetries(missingPods, o.claims) };
}

/** Every restore pod exists and none failed: wait for them, or say which cannot start. */
function running(o: RestoreObservation, done: number): RestoreStep {
  const blocked = o.pods.filter((p) => p.blocked && p.phase !== 'Succeeded').sort((a, b) => a.ordinal - b.ordinal);
  if (blocked.length > 0) return { kind: 'blocked', message: blockedMessage(blocked, 'the restore goes on by itself once that is fixed') };
  const what = o.source?.state === 'ready' ? o.source.source.description : 'the snapshot';
  return { kind: 'wait', message: `restoring ${what} onto ${o.replicas} member volumes: ${done}/${o.replicas} done` };
}

/** Restore pods that cannot start, the reason once for pods that share it. */
export function blockedMessage(pods: RestorePodView[], after: string): string {
  const byReason = new Map<string, string[]>();
  for (const p of pods) byReason.set(p.blocked!, [...(byReason.get(p.blocked!) ?? []), p.name]);
  const why = [...byReason].map(([reason, names]) => `restore pod${names.length > 1 ? 's' : ''} ${names.join(', ')} cannot start: ${reason}`).join('; ');
  return `${why}. Nothing was started; ${after}`;
}
