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

/**
 * Why this pod cannot run etcd by itself, or undefined: it has been unschedulable for the grace,
 * or one of its containers waits in a state only a change to the pod ends. Pure; a pod being
 * deleted has none.
 */
export function podCannotRun(pod: V1Pod | undefined, now: Date): string | undefined {
  if (!pod || pod.metadata?.deletionTimestamp) return undefined;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const since = scheduled?.lastTransitionTime ? new Date(scheduled.lastTransitionTime).getTime() : Number.NEGATIVE_INFINITY;
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' && now.getTime() - since >= unschedulableGraceMs) return `Unschedulable: ${brief(scheduled.message)}`;
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
