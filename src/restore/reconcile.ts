/**
 * The restore's part of a cluster pass: observe (cache, and the EtcdBackup while it matters),
 * plan (plan.ts), act (one step), and say what the status should show. While it `holds`, the
 * pass stops here: no StatefulSet, no member etcd, until every volume is restored.
 */
import type { KubeConfig, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import { needsAChange, stuckContainer } from '../controller/pod-state.js';
import type { ClusterCache } from '../runtime/cache.js';
import { crashpoint } from '../runtime/crashpoints.js';
import { type ClusterRef, annotationKeys, names, restorePodLabels } from '../resources/names.js';
import { transientExitCode } from './fetch.js';
import { type ClaimView, type RestoreObservation, type RestorePodView, type RestoreSource, type RestoreStep, maxRestoreRetries, planRestore } from './plan.js';
import type { PodRetry } from './retries.js';
import { buildRestoreClaim, buildRestorePod } from './pods.js';
import { clusterRef } from '../resources/owner.js';
import { resolveSource } from './source.js';
import { recoveryActive } from '../recovery/plan.js';

export interface RestoreContext {
  cluster: EtcdCluster;
  ref: ClusterRef;
  cache: ClusterCache;
  statefulSet: V1StatefulSet | undefined;
  claims: Map<number, V1PersistentVolumeClaim>;
  kc: KubeConfig;
  writer: KubeWriter;
  domain: string;
  operatorImage: string;
  log: Logger;
  signal: AbortSignal;
  now: Date;
  /** The namespace's EtcdBackups: a restore by key without a sha256 takes the digests one recorded. */
  backups?: readonly EtcdBackup[];
}

export interface RestoreOutcome {
  /** The pass must stop here: the restore is under way or failed. */
  holds: boolean;
  step: RestoreStep;
  progress?: { reason: string; message: string };
  /** For Degraded and a Warning event (one per lasting state named by `key`, whatever its message). */
  problem?: { reason: string; message: string; key?: string };
  requeueAfterMs: number;
}

/** Why a restore pod failed: the first step that exited non-zero, in its own words. */
export function podFailure(pod: V1Pod): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const t = s.state?.terminated;
    if (t && t.exitCode !== 0) return `step ${s.name} exited ${t.exitCode}: ${(t.message ?? t.reason ?? '').trim() || 'no message'}`;
  }
  return pod.status?.message ?? pod.status?.reason;
}

/** The failed step's exit says whether running the pod again may help (see isTransient), and when it ended. */
function failedStep(pod: V1Pod): { transient: boolean; failedAtMs?: number } {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const t = statuses.map((s) => s.state?.terminated).find((x) => x && x.exitCode !== 0);
  const at = t?.finishedAt ? new Date(t.finishedAt).getTime() : NaN;
  return { transient: t?.exitCode === transientExitCode, ...(Number.isNaN(at) ? {} : { failedAtMs: at }) };
}

/**
 * Why a restore (or recovery) pod cannot start: a step stuck waiting. Not an unscheduled pod: one
 * reads Unschedulable for a moment while its volume binds, which would be a false alarm.
 */
export function podBlocked(pod: V1Pod): string | undefined {
  const s = stuckContainer(pod, needsAChange);
  return s ? `step ${s.name} waits with ${s.reason}${s.message ? `: ${s.message}` : ''}` : undefined;
}

/** The cluster's restore pods as the planners see them (spec.restore's and a recovery's alike). */
export function observeRestorePods(cache: ClusterCache, ref: ClusterRef): RestorePodView[] {
  const pattern = new RegExp(`^${ref.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-restore-(0|[1-9]\\d*)$`);
  return (cache.list('Pod', ref.namespace, restorePodLabels(ref)) as V1Pod[]).flatMap((pod) => {
    const m = pattern.exec(pod.metadata?.name ?? '');
    if (!m) return [];
    const phase = (pod.status?.phase ?? 'Pending') as RestorePodView['phase'];
    const retries = pod.metadata?.annotations?.[annotationKeys.restoreRetries];
    const blocked = phase === 'Pending' ? podBlocked(pod) : undefined;
    return [{ ordinal: Number(m[1]), name: pod.metadata!.name!, phase, ...(retries !== undefined ? { retries: Number(retries) || 0 } : {}), ...(phase === 'Failed' ? { failure: podFailure(pod), ...failedStep(pod) } : {}), ...(blocked ? { blocked } : {}) }];
  });
}

/** The member claims with this cluster object's restore mark and retry count. */
export function restoreClaimViews(claims: Map<number, V1PersistentVolumeClaim>, uid: string | undefined): ClaimView[] {
  return [...claims].map(([ordinal, c]) => {
    const a = c.metadata?.annotations ?? {};
    return { ordinal, ours: a[annotationKeys.restoreFor] === uid, retries: Number(a[annotationKeys.restoreRetries] ?? 0) || 0, retryPending: a[annotationKeys.restoreRetryPending] === 'true' };
  });
}

async function observe(ctx: RestoreContext): Promise<RestoreObservation> {
  const { cluster } = ctx;
  // A consented recovery from a backup runs restore pods of its own (src/recovery): not ours to clean up.
  const requested = cluster.spec.restore !== undefined && !recoveryActive(cluster.status?.recovery);
  const formed = (cluster.status?.clusterID ?? '') !== '';
  const statefulSetExists = ctx.statefulSet !== undefined;
  const running = requested && !formed && !statefulSetExists;
  return {
    requested,
    replicas: cluster.spec.replicas,
    targetVersion: cluster.spec.version,
    formed,
    statefulSetExists,
    paused: cluster.spec.paused === true,
    source: running ? await resolveSource(ctx.kc, cluster, ctx.signal, ctx.backups) : undefined,
    claims: restoreClaimViews(ctx.claims, cluster.metadata.uid),
    pods: requested ? observeRestorePods(ctx.cache, ctx.ref) : [],
    nowMs: ctx.now.getTime(),
  };
}

export async function reconcileRestore(ctx: RestoreContext): Promise<RestoreOutcome> {
  const o = await observe(ctx);
  const step = planRestore(o);
  const { cluster, ref, writer, signal, log } = ctx;
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) => writer.event(cluster, type, reason, message, ctx.now);
  switch (step.kind) {
    case 'inactive':
    case 'done':
      return { holds: false, step, requeueAfterMs: Infinity };
    case 'deletePods':
      for (const name of step.names) await writer.delete('Pod', 'v1', ref.namespace, name, signal);
      log.info('restore over: restore pods deleted', { pods: step.names });
      return { holds: false, step, requeueAfterMs: Infinity };
    case 'fail':
      return { holds: true, step, problem: { reason: R.restoreFailed, message: `restore stopped: ${step.message}` }, progress: { reason: R.restoreFailed, message: 'the restore stopped; see Degraded' }, requeueAfterMs: 15_000 };
    case 'wait':
      return { holds: true, step, progress: { reason: R.restoring, message: step.message }, requeueAfterMs: 2_000 };
    case 'blocked':
      return { holds: true, step, problem: { reason: R.restoreBlocked, message: step.message, key: 'restore-blocked' }, progress: { reason: R.restoring, message: 'the restore waits for its pods to start; see Degraded' }, requeueAfterMs: 5_000 };
    case 'createClaims':
      for (const ordinal of step.ordinals) await writer.apply(buildRestoreClaim(cluster, ordinal), signal);
      log.info('restore: member volumes created', { ordinals: step.ordinals });
      crashpoint('after-restore-claims');
      return { holds: true, step, progress: { reason: R.restoring, message: `creating the volumes of ordinals ${step.ordinals.join(', ')}` }, requeueAfterMs: 500 };
    case 'createPods': {
      const source = o.source?.state === 'ready' ? o.source.source : undefined;
      if (!source) throw new Error('restore pods planned without a ready source');
      const reset = step.reset.length > 0 ? ` (ordinals ${step.reset.join(', ')}: their failed restore pods were deleted, so the retry count starts again)` : '';
      const message = `restoring ${source.description} onto the volumes of ordinals ${step.ordinals.join(', ')}${reset}`;
      await createRestorePods({ cluster, writer, signal, log, now: ctx.now, domain: ctx.domain, operatorImage: ctx.operatorImage }, source, step, o.claims);
      await event('Normal', 'RestoreStarted', message);
      crashpoint('after-restore-pods');
      return { holds: true, step, progress: { reason: R.restoring, message }, requeueAfterMs: 1_000 };
    }
    case 'retryPods':
      await retryRestorePods({ cluster, writer, signal, log, now: ctx.now, domain: ctx.domain, operatorImage: ctx.operatorImage }, step.pods);
      return { holds: true, step, progress: { reason: R.restoring, message: `running restore pods ${step.pods.map((p) => p.name).join(', ')} again after a transient failure` }, requeueAfterMs: 1_000 };
  }
}

/** What making or retrying restore pods needs; spec.restore and a recovery from a backup alike. */
export interface RestorePodActs {
  cluster: EtcdCluster;
  writer: KubeWriter;
  signal: AbortSignal;
  log: Logger;
  now: Date;
  domain: string;
  operatorImage: string;
}

/** Makes the restore pods of `ordinals`, each counted as the retry it is. */
export async function createRestorePods(a: RestorePodActs, source: RestoreSource, plan: { ordinals: number[]; retries: number[]; reset: number[] }, claims: readonly ClaimView[]): Promise<void> {
  const { cluster, writer, signal } = a;
  for (const [n, ordinal] of plan.ordinals.entries()) {
    const retries = plan.retries[n] ?? 0;
    await writer.apply(buildRestorePod({ cluster, ordinal, fetch: source.fetch, domain: a.domain, operatorImage: a.operatorImage, retries }), signal);
    // The pod first, then the claim: a crash in between leaves the pending mark, which only
    // keeps a count; the other order could grant fresh retries nobody asked for.
    const c = claims.find((x) => x.ordinal === ordinal);
    if (c && (c.retryPending || (c.retries ?? 0) !== retries)) await writer.apply(buildRestoreClaim(cluster, ordinal, retries), signal);
  }
  a.log.info('restore pods created', { ordinals: plan.ordinals, source: source.description, reset: plan.reset });
  for (const ordinal of plan.reset) {
    const pod = names.restorePod(clusterRef(cluster), ordinal);
    await writer.event(cluster, 'Normal', 'RestoreRetriesReset', `restore pod ${pod} was deleted after it failed: running it again with the retry count back at 0 (up to ${maxRestoreRetries} retries for a fetch that may clear by itself)`, a.now);
  }
}

/** Records each retry on its volume, then deletes the failed pod: the next pass makes it again. */
export async function retryRestorePods(a: RestorePodActs, pods: readonly PodRetry[]): Promise<void> {
  const { cluster, writer, signal } = a;
  for (const p of pods) {
    // The count first: a retry is never run without being counted against the limit.
    await writer.apply(buildRestoreClaim(cluster, p.ordinal, p.retries, true), signal);
    await writer.delete('Pod', 'v1', cluster.metadata.namespace!, p.name, signal);
    await writer.event(cluster, 'Warning', 'RestoreRetried', `restore pod ${p.name} failed, which may clear by itself (${p.failure}): running it again (retry ${p.retries} of ${maxRestoreRetries})`, a.now);
  }
}
