/**
 * The controller's side of a CA rotation (the phases themselves are planned in src/pki/rotation.ts):
 * whether the members' roll is done, and how each phase is told in status and events.
 */
import { createHash } from 'node:crypto';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { conditionReasons as R } from '../api/conditions.js';
import { inspectLeaf, secretKeys, secretText } from '../pki/inspect.js';
import type { RotationPlan } from '../pki/plan.js';
import { memberTrustText } from '../pki/rotation.js';
import { trustBundleAnnotation } from '../resources/pod-template.js';
import type { KubeView } from './observe-kube.js';

/** A short, stable digest for pod template annotations. */
export function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The trust-bundle hash of the member pods, from the server Secret they mount. */
export function memberTrustHash(server: V1Secret | undefined): string | undefined {
  const bundle = server && secretText(server, secretKeys.ca);
  return bundle === undefined ? undefined : hashOf(memberTrustText(bundle, inspectLeaf(server!)));
}

const ready = (pod: V1Pod) => (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * The members run the template made for `trustHash`: the StatefulSet carries it and has seen it,
 * and every pod up to its replicas was created from it (revision and annotation) and is ready.
 * Read from the cache only; a stale view shows older pods, so it errs toward waiting.
 */
export function membersRolled(kube: KubeView, trustHash: string): boolean {
  const sts = kube.statefulSet;
  if (!sts || sts.spec?.template?.metadata?.annotations?.[trustBundleAnnotation] !== trustHash) return false;
  if ((sts.status?.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0)) return false;
  const revision = sts.status?.updateRevision;
  for (let ordinal = 0; ordinal < (sts.spec?.replicas ?? 0); ordinal++) {
    const pod = kube.pods.get(ordinal);
    if (!pod || pod.metadata?.deletionTimestamp || pod.metadata?.labels?.['controller-revision-hash'] !== revision || !ready(pod)) return false;
    // The pod's own copy of the template annotation: what it was started for, whatever the
    // StatefulSet's revision bookkeeping says.
    if (pod.metadata?.annotations?.[trustBundleAnnotation] !== trustHash) return false;
  }
  return revision !== undefined;
}

export interface RotationReport {
  /** For Progressing while a rotation is under way. */
  progress?: { reason: string; message: string };
  /** A Normal event for the step this pass carried out. */
  event?: { reason: string; message: string };
}

/** Status and event wording of a rotation step. */
export function describeRotation(r: RotationPlan | undefined, caSecretName: string): RotationReport {
  const step = r?.step;
  if (!step || step.kind === 'blocked' || step.kind === 'done') return {};
  if (r?.back) {
    // The next CA's Secret was lost mid-rotation: its key signs nothing more, so the rotation goes
    // back; a rotate-ca token it has not answered then starts a new one.
    const forward = describeForward(step, caSecretName);
    const back = (t: string) => `CA rotation going back to the CA in Secret ${caSecretName} (the next CA's Secret is gone, and its key with it; a pending rotate-ca request then starts anew): ${t}`;
    return {
      ...(forward.progress ? { progress: { reason: forward.progress.reason, message: back(forward.progress.message) } } : {}),
      ...(forward.event ? { event: { reason: forward.event.reason, message: back(forward.event.message) } } : {}),
    };
  }
  return describeForward(step, caSecretName);
}

function describeForward(step: Exclude<RotationPlan['step'], { kind: 'blocked' } | { kind: 'done' }>, caSecretName: string): RotationReport {
  switch (step.kind) {
    case 'start': {
      const why = step.reason === 'Requested' ? 'requested by annotation' : `the CA expires at ${step.expiresAt.toISOString()}, within renewBefore`;
      const message = `CA rotation started (${why}): a new CA was generated; members will trust old and new CAs before any certificate changes`;
      return { progress: { reason: R.caRotationStarted, message }, event: { reason: R.caRotationStarted, message } };
    }
    case 'widen': {
      const message = `CA rotation: certificate bundles now trust the old and the new CA (${step.leaves.join(', ')}); members restart one at a time`;
      return { progress: { reason: R.caRotationWidening, message }, event: { reason: R.caRotationWidening, message } };
    }
    case 'awaitRoll':
      return { progress: { reason: step.phase === 'widened' ? R.caRotationWidening : R.caRotationReissuing, message: `CA rotation: waiting for every member to restart with the ${step.phase === 'widened' ? 'widened trust bundle' : 'reissued certificates'}` } };
    case 'reissue': {
      const message = `CA rotation: certificates reissued from the new CA (${step.leaves.join(', ')}); members still trust both CAs`;
      return { progress: { reason: R.caRotationReissuing, message }, event: { reason: R.caRotationReissuing, message } };
    }
    case 'promote': {
      const message = `CA rotation: Secret ${caSecretName} now holds the new CA`;
      return { progress: { reason: R.caRotationNarrowing, message }, event: { reason: R.caRotationNarrowing, message } };
    }
    case 'narrow': {
      const message = 'CA rotation: the old CA is dropped from every certificate bundle; members restart one at a time';
      return { progress: { reason: R.caRotationNarrowing, message }, event: { reason: R.caRotationNarrowing, message } };
    }
    case 'finish': {
      const message = 'CA rotation finished: the next-CA Secret is deleted; members restart to drop the old CA';
      return { progress: { reason: R.caRotationFinished, message }, event: { reason: R.caRotationFinished, message } };
    }
  }
}
