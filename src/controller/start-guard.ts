import type { V1Container, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { memberInitContainer } from '../resources/pod-template.js';
import type { KubeView } from './observe-kube.js';
import { podCannotRun } from './pod-state.js';
import { isSubset } from './subset.js';
import type { EtcdView } from './observe-etcd.js';

/** The pod's start guard is running: etcd has not started in it yet. */
export function inStartGuard(pod: V1Pod | undefined): boolean {
  return pod?.status?.initContainerStatuses?.find((c) => c.name === memberInitContainer)?.state?.running !== undefined;
}

/**
 * How long a guard may run before the member counts as held: it passes a volume with data within
 * a second or two, so a restarted member (a roll, a SIGKILL) is in its guard briefly, and only a
 * guard that keeps running has found an empty volume under a member that already ran.
 */
export const guardGraceMs = 15_000;

/** The pod's start guard has run past guardGraceMs: it found the volume empty under a member that already ran. */
export function heldByGuard(pod: V1Pod | undefined, now: Date): boolean {
  const running = pod?.status?.initContainerStatuses?.find((c) => c.name === memberInitContainer)?.state?.running;
  if (!running) return false;
  const since = running.startedAt ? new Date(running.startedAt).getTime() : Number.NEGATIVE_INFINITY;
  return now.getTime() - since >= guardGraceMs;
}

/**
 * Says why a member does not answer when its pod waits in the start guard: a guard running for
 * less than guardGraceMs is a member starting; longer, the volume is empty (or the guard cannot
 * read its certificates) and the member must be replaced. A pod that cannot run etcd at all (an
 * image it cannot pull, etcd crash-looping, unschedulable) says that instead of a bare "no answer".
 * Pure; the view is copied, not changed.
 */
export function withStartGuardProblems(etcd: EtcdView | undefined, kube: KubeView, now: Date): EtcdView | undefined {
  if (!etcd) return etcd;
  const problem = (pod: V1Pod | undefined, started: boolean): string | undefined => {
    const running = pod?.status?.initContainerStatuses?.find((c) => c.name === memberInitContainer)?.state?.running;
    if (!running) {
      const why = podCannotRun(pod, now);
      return why ? `its pod cannot run etcd: ${why}` : undefined;
    }
    if (!started) return undefined;
    const since = running.startedAt ? new Date(running.startedAt).getTime() : Number.NEGATIVE_INFINITY;
    return now.getTime() - since < guardGraceMs
      ? `starting: its pod's start guard (${memberInitContainer}) is checking the volume`
      : `held by its pod's start guard (${memberInitContainer}): the volume is empty but this member already ran, so it must be replaced by a new member`;
  };
  return {
    ...etcd,
    members: etcd.members.map((m) => {
      const held = !m.healthy && m.ordinal !== undefined ? problem(kube.pods.get(m.ordinal), m.started) : undefined;
      return held ? { ...m, problem: held } : m;
    }),
  };
}

/**
 * The start guard image to keep in the member template: the one the StatefulSet already runs,
 * while the guard's command, arguments, environment and mounts are unchanged. A new operator
 * release must restart no member (a changed template would roll them all), so a new guard image
 * arrives with the next roll that something else asks for. A StatefulSet from before the guard,
 * or a guard whose invocation changed, gets the operator's own image, and the members roll once.
 */
export function guardImage(live: V1StatefulSet | undefined, desired: V1StatefulSet | undefined, operatorImage: string): string {
  const find = (sts: V1StatefulSet | undefined) => sts?.spec?.template?.spec?.initContainers?.find((c) => c.name === memberInitContainer);
  const running = find(live);
  const wanted = find(desired);
  if (!running?.image || !wanted) return operatorImage;
  // The live object carries the API server's defaults (a fieldRef's apiVersion, say), so the
  // invocation is the same when every field the operator writes is there with its value.
  const invocation = (c: V1Container) => [c.command, c.args, c.env, c.volumeMounts];
  return isSubset(invocation(wanted), invocation(running)) ? running.image : operatorImage;
}
