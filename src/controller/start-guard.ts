import type { V1Container, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { memberInitContainer } from '../resources/pod-template.js';
import type { KubeView } from './observe-kube.js';
import { podCannotRun } from './pod-state.js';
import { isSubset } from './subset.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import { type AskGuard, type GuardAnswer, guardProof } from './guard-evidence.js';

/** The pod's start guard is running: etcd has not started in it yet. */
export function inStartGuard(pod: V1Pod | undefined): boolean {
  return pod?.status?.initContainerStatuses?.find((c) => c.name === memberInitContainer)?.state?.running !== undefined;
}

/**
 * How long a guard may run before the operator asks it whether it holds the member: it passes a
 * volume with data within a second or two, so a restarted member (a roll, a SIGKILL) is in its
 * guard briefly. Not a proof by itself: the guard's own answer (guard-evidence.ts) names the lost
 * member or nothing, whenever it is asked, so the grace only spares asking pods that pass at
 * once. 15 s before; every member replaced on a volume emptied in place waited it out (a
 * replacement took 38.7 to 44.7 s from the operator's start in test/e2e/lost-volume.test.ts).
 */
export const guardGraceMs = 5_000;

/** How long the grace of a pod's running start guard has left (≤ 0: over); undefined when no guard runs. */
function guardGraceLeftMs(pod: V1Pod | undefined, now: Date): number | undefined {
  const running = pod?.status?.initContainerStatuses?.find((c) => c.name === memberInitContainer)?.state?.running;
  if (!running) return undefined;
  const since = running.startedAt ? new Date(running.startedAt).getTime() : Number.NEGATIVE_INFINITY;
  return since + guardGraceMs - now.getTime();
}

/** The pod's start guard has run past guardGraceMs: it found the volume empty under a member that already ran. */
export function heldByGuard(pod: V1Pod | undefined, now: Date): boolean {
  const left = guardGraceLeftMs(pod, now);
  return left !== undefined && left <= 0;
}

/**
 * Asked and not proven (no answer, another image), a held guard is asked again this soon, for
 * guardAskWindowMs after its grace; then on the cluster's own refresh, so that a guard nobody can
 * reach (a network policy closing :2381) does not make its cluster pass every few seconds for good.
 */
export const guardAskAgainMs = 5_000;
export const guardAskWindowMs = 60_000;

/**
 * When to look again for the start guards of down members: at the end of a guard's grace, when
 * it is first asked, then every guardAskAgainMs while it runs unproven (for guardAskWindowMs). Nothing else queues that
 * pass: a pod waiting in its guard changes nothing Kubernetes shows, and a cluster with a down
 * member and nothing to change is otherwise looked at on the 30 s refresh (a member replaced on
 * an emptied volume waited up to 30 s after the grace). Infinity: no guard to look at. Pure.
 */
export function guardLookAfterMs(etcd: EtcdView | undefined, kube: KubeView, now: Date): number {
  let soonest = Number.POSITIVE_INFINITY;
  for (const m of etcd?.members ?? []) {
    if (!m.started || m.healthy || m.ordinal === undefined || m.heldByGuard) continue;
    const left = guardGraceLeftMs(kube.pods.get(m.ordinal), now);
    if (left === undefined || -left > guardAskWindowMs) continue;
    soonest = Math.min(soonest, left > 0 ? left + 100 : guardAskAgainMs);
  }
  return soonest;
}

/** A started, unhealthy member whose pod's status shows its guard running past the grace. */
function guardCandidate(m: MemberView, kube: KubeView, now: Date): V1Pod | undefined {
  if (!m.started || m.healthy || m.ordinal === undefined) return undefined;
  const pod = kube.pods.get(m.ordinal);
  return heldByGuard(pod, now) ? pod : undefined;
}

/**
 * Asks the guard of every member its pod's status shows held (guard-evidence.ts), in parallel,
 * each within the asker's timeout; a pass with no such member asks nothing.
 */
export async function askHeldGuards(etcd: EtcdView | undefined, kube: KubeView, now: Date, ask: AskGuard): Promise<Map<number, GuardAnswer>> {
  const asked = (etcd?.members ?? []).flatMap((m) => {
    const ip = guardCandidate(m, kube, now)?.status?.podIP;
    return ip ? [{ ordinal: m.ordinal!, answer: ask(ip) }] : [];
  });
  return new Map(await Promise.all(asked.map(async ({ ordinal, answer }) => [ordinal, await answer] as const)));
}

/** What the guards said, and the guard image this operator runs (a pod with another cannot answer). */
export interface GuardEvidence {
  answers: Map<number, GuardAnswer>;
  guardImage: string;
}

/**
 * Says why a member does not answer when its pod waits in the start guard: a guard running for
 * less than guardGraceMs is a member starting; longer, and the guard itself confirms it holds this
 * member (guard-evidence.ts), the volume is empty and the member must be replaced (heldByGuard).
 * Without that confirmation the pod's status is not taken as proof. A pod that cannot run etcd at
 * all (an image it cannot pull, etcd crash-looping, unschedulable) says that instead of a bare
 * "no answer". Pure; the view is copied, not changed.
 */
export function withStartGuardProblems(etcd: EtcdView | undefined, kube: KubeView, now: Date, evidence: GuardEvidence = { answers: new Map(), guardImage: '' }): EtcdView | undefined {
  if (!etcd) return etcd;
  const explain = (m: MemberView): Partial<MemberView> | undefined => {
    if (m.healthy || m.ordinal === undefined) return undefined;
    const pod = kube.pods.get(m.ordinal);
    const running = pod?.status?.initContainerStatuses?.find((c) => c.name === memberInitContainer)?.state?.running;
    if (!running) {
      const why = podCannotRun(pod, now);
      return why ? { problem: `its pod cannot run etcd: ${why}` } : undefined;
    }
    if (!m.started) return undefined;
    if (!guardCandidate(m, kube, now)) return { problem: `starting: its pod's start guard (${memberInitContainer}) is checking the volume` };
    const image = pod?.spec?.initContainers?.find((c) => c.name === memberInitContainer)?.image;
    const proof = guardProof(m.id, evidence.answers.get(m.ordinal), image !== undefined && image !== evidence.guardImage);
    return proof.proven
      ? { problem: `held by its pod's start guard (${memberInitContainer}): the volume is empty but this member already ran, so it must be replaced by a new member (${proof.reason})`, heldByGuard: true }
      : { problem: `its pod's status shows the start guard (${memberInitContainer}) running for over ${guardGraceMs / 1000} s, but ${proof.why}: not taken as proof that its volume lost its data` };
  };
  return {
    ...etcd,
    members: etcd.members.map((m) => {
      const found = explain(m);
      return found ? { ...m, ...found } : m;
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
