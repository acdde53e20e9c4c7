import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { hasRun } from '../member-init/decide.js';
import { env } from '../resources/etcd-args.js';
import { emptyDataRefusal, podRefusal, refusedMemberIn } from '../resources/empty-data-refusal.js';
import { type ClusterRef, annotationKeys } from '../resources/names.js';
import { etcdContainerName } from '../resources/pod-template.js';
import type { Logger } from 'winston';
import type { KubeWriter } from './kube-writer.js';
import type { EtcdView } from './observe-etcd.js';
import { isSubset } from './subset.js';
import { statusCodeOf } from '../runtime/kube-http.js';

/**
 * What keeps an emptied volume from coming back under its old member at an etcd container's
 * restart (src/resources/empty-data-refusal.ts explains the refusal itself). Two kinds of step:
 * - `deletePod`: its etcd refused an empty data directory and is not running. The new pod's start
 *   guard finds the volume empty under a member that ran and holds it; the operator then replaces
 *   the member as for any lost volume. Nothing of the member is lost by the delete: etcd is down.
 * - `annotate`: the refusal a pod must carry, from a quorum's member list: the member with its
 *   peer URL if that member ran, else none (a fresh learner, or an ordinal with no member, must be
 *   free to start empty).
 */
export type EmptyDataStep =
  | { kind: 'deletePod'; ordinal: number; pod: string; uid: string; memberHex: string }
  | { kind: 'annotate'; ordinal: number; pod: string; uid: string; refusal: string | undefined };

/** The member whose identity the pod's etcd refused to take on an empty data directory, while etcd is down. */
export function refusedEmptyStart(pod: V1Pod): string | undefined {
  const etcd = pod.status?.containerStatuses?.find((c) => c.name === etcdContainerName);
  if (!etcd || etcd.state?.running) return undefined;
  return refusedMemberIn(etcd.state?.terminated?.message) ?? refusedMemberIn(etcd.lastState?.terminated?.message);
}

/** Pure: pods to delete first, then the refusals to write. `etcd` undefined: no refusal changes. */
export function planEmptyData(pods: ReadonlyMap<number, V1Pod>, etcd: EtcdView | undefined): EmptyDataStep[] {
  const steps: EmptyDataStep[] = [];
  const ordinals = [...pods.keys()].sort((a, b) => a - b);
  for (const ordinal of ordinals) {
    const pod = pods.get(ordinal)!;
    const memberHex = refusedEmptyStart(pod);
    if (memberHex) steps.push({ kind: 'deletePod', ordinal, pod: pod.metadata!.name!, uid: pod.metadata!.uid!, memberHex });
  }
  // Only a list a quorum served says who ran: one member's own copy may lag behind a removal.
  if (!etcd?.quorumConfirmed) return steps;
  for (const ordinal of ordinals) {
    const pod = pods.get(ordinal)!;
    if (steps.some((s) => s.ordinal === ordinal)) continue;
    const ran = etcd.members.find((m) => m.ordinal === ordinal && hasRun(m));
    const refusal = ran ? emptyDataRefusal(ran.id) : undefined;
    if (refusal !== podRefusal(pod)) steps.push({ kind: 'annotate', ordinal, pod: pod.metadata!.name!, uid: pod.metadata!.uid!, refusal });
  }
  return steps;
}

export interface EmptyDataContext {
  cluster: EtcdCluster;
  ref: ClusterRef;
  writer: KubeWriter;
  log: Logger;
  now: Date;
  signal?: AbortSignal;
}

/** Carries the steps out: each a request of its own, a pod changed or gone since is skipped. */
export async function actEmptyData(steps: EmptyDataStep[], ctx: EmptyDataContext): Promise<void> {
  const { ref } = ctx;
  for (const step of steps) {
    if (step.kind === 'deletePod') {
      const message = `${step.pod} (member ${step.memberHex}) found its data directory empty when its etcd container restarted, and etcd refused to start under that member's identity (the volume was emptied under the running pod); the pod is deleted so that its start guard holds the empty volume until the member is replaced by a new one`;
      ctx.log.warn('member refused to start on an emptied data directory', { pod: step.pod, member: step.memberHex });
      try {
        await ctx.writer.delete('Pod', 'v1', ref.namespace, step.pod, ctx.signal, { preconditions: { uid: step.uid } });
      } catch (err) {
        // Gone, or replaced since the cache showed it (the uid precondition): the next pass looks
        // at the pod there now.
        if ([404, 409].includes(statusCodeOf(err) ?? 0)) continue;
        throw err;
      }
      await ctx.writer.event(ctx.cluster, 'Warning', 'MemberDataDirEmptied', message, ctx.now);
      continue;
    }
    const annotations: Record<string, string> = step.refusal === undefined ? {} : { [annotationKeys.emptyDataRefusal]: step.refusal };
    try {
      // Server-side apply of this one annotation: dropping it from the applied object removes it.
      await ctx.writer.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: step.pod, namespace: ref.namespace, uid: step.uid, annotations } }, ctx.signal);
    } catch (err) {
      // Deleted or replaced since the cache showed it: the next pass sees the new pod.
      if (![404, 409, 422].includes(statusCodeOf(err) ?? 0)) throw err;
    }
  }
}

/** The etcd container of a live StatefulSet already carries the refusal. */
function carriesRefusal(sts: V1StatefulSet): boolean {
  const etcd = sts.spec?.template?.spec?.containers?.find((c) => c.name === etcdContainerName);
  return (etcd?.env ?? []).some((e) => e.name === env.emptyDataRefusal);
}

/**
 * Whether the member template has the refusal: always for a new StatefulSet, and for a live one
 * that has it; a live one from before it gets it with the next change its template needs anyway
 * (a new operator release restarts no member by itself, as with the guard's image).
 */
export function refusalInTemplate(live: V1StatefulSet | undefined, without: V1StatefulSet | undefined): boolean {
  if (!live || carriesRefusal(live)) return true;
  return !!without && !isSubset(without, live);
}
