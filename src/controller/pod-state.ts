import type { V1Pod } from '@kubernetes/client-node';

/**
 * Waiting reasons that only a change of the world ends (an image fixed, a Secret or ConfigMap
 * created): the kubelet retries them with a growing backoff, and nothing moves by itself. A
 * container still being created or pulling is not here: those move on.
 */
export const needsAChange: ReadonlySet<string> = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError']);

/** For a member pod, also a container that keeps exiting (etcd refusing its options, say). */
const memberStuck: ReadonlySet<string> = new Set([...needsAChange, 'CrashLoopBackOff', 'RunContainerError']);

/** The first container (init containers first) waiting for one of `reasons`, with the kubelet's words. */
export function stuckContainer(pod: V1Pod, reasons: ReadonlySet<string>): { name: string; reason: string; message: string | undefined } | undefined {
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && reasons.has(waiting.reason)) return { name: c.name, reason: waiting.reason, message: waiting.message?.trim() || undefined };
  }
  return undefined;
}

const brief = (text: string | undefined): string => {
  const t = (text ?? '').trim();
  return t.length > 200 ? `${t.slice(0, 197)}...` : t;
};

/**
 * How long a pod must have been unschedulable to count: a scheduler reads a new pod Unschedulable
 * for a moment while its volume is provisioned and bound, which moves on by itself.
 */
export const unschedulableGraceMs = 30_000;

/** How long this pod has been Unschedulable, or undefined when it is not (or is being deleted). */
function unschedulableForMs(pod: V1Pod, now: Date): number | undefined {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (pod.metadata?.deletionTimestamp || scheduled?.status !== 'False' || scheduled.reason !== 'Unschedulable') return undefined;
  const since = scheduled.lastTransitionTime ? new Date(scheduled.lastTransitionTime).getTime() : Number.NEGATIVE_INFINITY;
  return now.getTime() - since;
}

/** How long until this pod's Unschedulable grace is over (> 0), or undefined when there is no such wait. */
function unschedulableGraceLeftMs(pod: V1Pod, now: Date): number | undefined {
  const forMs = unschedulableForMs(pod, now);
  return forMs !== undefined && forMs < unschedulableGraceMs ? unschedulableGraceMs - forMs : undefined;
}

/**
 * When to look again so that an Unschedulable pod is reported as its grace ends: nothing in
 * Kubernetes changes then, and a cluster with a member down and nothing to change is otherwise
 * looked at on its 30 s refresh (reported up to 30 s after the grace). Infinity: none. Pure.
 */
export function podLookAfterMs(pods: ReadonlyMap<number, V1Pod>, now: Date): number {
  const left = [...pods.values()].map((p) => unschedulableGraceLeftMs(p, now)).filter((ms) => ms !== undefined);
  return left.length > 0 ? Math.min(...left) + 100 : Number.POSITIVE_INFINITY;
}

/**
 * Why this pod cannot run etcd by itself, or undefined: it has been unschedulable for the grace,
 * or one of its containers waits in a state only a change to the pod ends. Pure; a pod being
 * deleted has none.
 */
export function podCannotRun(pod: V1Pod | undefined, now: Date): string | undefined {
  if (!pod || pod.metadata?.deletionTimestamp) return undefined;
  if ((unschedulableForMs(pod, now) ?? -1) >= unschedulableGraceMs) return `Unschedulable: ${brief(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message)}`;
  const c = stuckContainer(pod, memberStuck);
  return c ? `container ${c.name}: ${c.reason}${c.message ? `: ${brief(c.message)}` : ''}` : undefined;
}

/**
 * A Warning per member pod that cannot run etcd, for the person who can fix its cause. One lasting
 * state per pod: its message may move between ErrImagePull and ImagePullBackOff without a repeat.
 */
export function podNotices(pods: ReadonlyMap<number, V1Pod>, now: Date): { type: 'Warning'; reason: string; message: string; key: string }[] {
  return [...pods.values()].flatMap((pod) => {
    const why = podCannotRun(pod, now);
    const name = pod.metadata?.name ?? '';
    return why ? [{ type: 'Warning' as const, reason: 'MemberPodFailing', message: `${name} cannot run etcd: ${why}`, key: name }] : [];
  });
}
