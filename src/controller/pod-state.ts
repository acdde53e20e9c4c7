import type { V1Pod } from '@kubernetes/client-node';

/**
 * Pod states that do not end by themselves: the kubelet retries them with a growing backoff, but
 * without a change to the pod (a new image, new options, smaller requests) the member stays down.
 * A container still being created, pulling, or a start guard holding is not here: those move on.
 */
const stuck: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

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
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && stuck.has(waiting.reason)) return `container ${c.name}: ${waiting.reason}${waiting.message ? `: ${brief(waiting.message)}` : ''}`;
  }
  return undefined;
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
