import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { EtcdCluster } from '../api/types.generated.js';
import { EtcdAdminError } from '../etcd/errors.js';
import { crashpoint } from '../runtime/crashpoints.js';
import type { EtcdAdmin, EtcdMember } from '../etcd/types.js';
import { buildMembershipConfig, membershipKeys } from '../resources/membership-config.js';
import { type ClusterRef, memberPeerUrl, names } from '../resources/names.js';
import { stamped } from '../resources/applied.js';
import { buildStatefulSet } from '../resources/statefulset.js';
import { withLiveClaimTemplates } from '../storage/observe.js';
import type { KubeWriter } from './kube-writer.js';
import { type LearnerRecords, describeTimeout, learnerName } from './learners.js';
import type { MembershipStep } from './membership.js';
import { ordinalOf } from './observe-etcd.js';
import { isSubset } from './subset.js';
import { hexId } from '../etcd/convert.js';

export interface StepContext {
  cluster: EtcdCluster;
  ref: ClusterRef;
  domain: string;
  memberInitImage: string;
  /** The member template refuses an emptied data directory (empty-data.ts refusalInTemplate); default yes. */
  refuseEmptyData?: boolean;
  writer: KubeWriter;
  admin: EtcdAdmin | undefined;
  /** Volume records to keep in the membership ConfigMap. */
  records: Record<string, string>;
  /** Learner records to keep in the membership ConfigMap. */
  learners: LearnerRecords;
  /** Ordinals of the members this pass observed, for a ConfigMap write that changes no membership. */
  ordinals: number[];
  /**
   * The membership ConfigMap as the API server last returned it (this pass's write, else the
   * cache's copy): a write that would change nothing in it is not sent.
   */
  membershipConfig?: V1ConfigMap;
  /** Hash of the CA bundle members trust, stamped on the pod template. */
  trustBundleHash: string;
  /** The live StatefulSet, whose claim templates a scale keeps (the API server forbids changing them). */
  live?: V1StatefulSet;
  log: Logger;
  now: Date;
}

/** What acting did, for the requeue decision. */
export type StepOutcome = 'acted' | 'notReady' | 'idle';


function needAdmin(ctx: StepContext): EtcdAdmin {
  if (!ctx.admin) throw new Error('no etcd client: the operator client certificate is not available yet');
  return ctx.admin;
}

/** After a change etcd reports the new membership: pods that start empty must announce it. */
async function announce(ctx: StepContext, members: EtcdMember[], learners: LearnerRecords = ctx.learners): Promise<void> {
  const ordinals = members.map((m) => ordinalOf(ctx.ref, m)).filter((o): o is number => o !== undefined);
  await writeMembership(ctx, ordinals, learners);
}

async function writeMembership(ctx: StepContext, ordinals: number[], learners: LearnerRecords): Promise<void> {
  const desired = buildMembershipConfig(ctx.cluster, { state: 'existing', ordinals, memberVolumes: ctx.records, ...learners });
  // A retried step (etcd refused the add) announces what is there already: each write would only
  // wake the controller for another pass that writes again.
  if (membershipUnchanged(desired, ctx.membershipConfig)) return;
  ctx.membershipConfig = await ctx.writer.apply(desired);
}

/**
 * The ordinals the membership ConfigMap announces: the members etcd lists, plus the one an add is
 * about to join, so that the pass's own sync and the add's announcement agree while etcd refuses it.
 */
export function announcedOrdinals(members: number[], step: MembershipStep): number[] {
  return step.kind === 'addLearner' && !members.includes(step.ordinal) ? [...members, step.ordinal] : members;
}

/**
 * Whether `live` already holds `desired`: labels and owner as applied, and every membership key
 * equal, where a key `desired` leaves out (a learner record no longer kept) must be absent too.
 */
export function membershipUnchanged(desired: V1ConfigMap, live: V1ConfigMap | undefined): boolean {
  return live !== undefined && isSubset(desired.metadata, live.metadata) && Object.values(membershipKeys).every((k) => desired.data?.[k] === live.data?.[k]);
}

async function event(ctx: StepContext, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
  if (type === 'Warning') ctx.log.warn(message, { event: reason });
  else ctx.log.info(message, { event: reason });
  await ctx.writer.event(ctx.cluster, type, reason, message, ctx.now);
}

/**
 * Carries out one planned step: one request that changes the world (plus the bookkeeping that
 * must follow it at once). Membership calls are sent once; on any error the next pass observes.
 */
export async function act(step: MembershipStep, ctx: StepContext): Promise<StepOutcome> {
  try {
    return await actOnce(step, ctx);
  } catch (err) {
    // etcd refusing a change it did not apply (a learner not caught up, a member that joined less
    // than 5 s ago making the cluster "unhealthy" for changes) is a wait, not a failure.
    if (err instanceof EtcdAdminError && err.retryable && !err.maybeApplied) {
      ctx.log.info('etcd is not ready for the step yet', { step: step.kind, kind: err.kind });
      return 'notReady';
    }
    throw err;
  }
}

async function actOnce(step: MembershipStep, ctx: StepContext): Promise<StepOutcome> {
  const { ref } = ctx;
  switch (step.kind) {
    case 'createStatefulSet':
    case 'scaleStatefulSet':
      await ctx.writer.apply(withLiveClaimTemplates(stamped(buildStatefulSet(ctx.cluster, step.replicas, ctx.trustBundleHash, ctx.domain, ctx.memberInitImage, ctx.refuseEmptyData ?? true)), ctx.live));
      if (step.kind === 'scaleStatefulSet' && step.reason === 'startAhead') crashpoint('after-start-ahead');
      await event(ctx, step.kind === 'createStatefulSet' ? 'StatefulSetCreated' : 'StatefulSetScaled', `StatefulSet ${names.statefulSet(ref)} set to ${step.replicas} replicas`);
      return 'acted';
    case 'addLearner': {
      // Announced before the add: the start guard lets the new pod's etcd start as soon as etcd
      // lists the learner, and etcd then reads this membership. Listing a member that the add
      // then refuses harms nothing: only a pod starting empty reads it, and the guard holds it.
      await writeMembership(ctx, [...ctx.ordinals, step.ordinal], ctx.learners);
      const added = await needAdmin(ctx).memberAddLearner([memberPeerUrl(ref, step.ordinal, ctx.domain)]);
      crashpoint('after-member-add');
      // The start of its deadline; should this write not happen, the next pass records it.
      const learner = { memberId: added.member.id, ordinal: step.ordinal, addedAt: ctx.now.toISOString() };
      await announce(ctx, added.members, { ...ctx.learners, learner });
      const retry = ctx.learners.learnerRetry;
      const again = retry ? ` (again, after ${retry.failures} timeout(s) in a row)` : '';
      await event(ctx, 'MemberAdded', `added ${names.member(ref, step.ordinal)} as learner ${hexId(added.member.id)}${again}`);
      return 'acted';
    }
    case 'recordLearnerTimeout':
      // Written first and acted on once observed: the removal never outruns its retry record.
      await writeMembership(ctx, ctx.ordinals, { ...ctx.learners, learnerRetry: step.retry });
      ctx.log.info('learner missed its deadline', { retry: step.retry });
      return 'acted';
    case 'removeLearner': {
      const remaining = await needAdmin(ctx).memberRemove(step.memberId);
      crashpoint('after-member-remove');
      await announce(ctx, remaining, { learnerRetry: step.retry ?? ctx.learners.learnerRetry });
      if (step.reason === 'timedOut' && step.retry) await event(ctx, 'LearnerTimedOut', describeTimeout(ref, step.retry), 'Warning');
      else await event(ctx, 'LearnerRemoved', `removed learner ${learnerName(ref, step)}: spec.replicas is now ${ctx.cluster.spec.replicas}`);
      return 'acted';
    }
    case 'promoteLearner':
      await needAdmin(ctx).memberPromote(step.memberId);
      crashpoint('after-member-promote');
      await event(ctx, 'MemberPromoted', `promoted ${names.member(ref, step.ordinal)} (${hexId(step.memberId)}) to voter`);
      return 'acted';
    case 'moveLeader':
      await needAdmin(ctx).moveLeader(step.toId);
      crashpoint('after-leader-move');
      await event(ctx, 'LeaderMoved', `moved leadership from ${hexId(step.fromId)} to ${hexId(step.toId)}`);
      return 'acted';
    case 'removeMember': {
      // A member removed for its lost data left nothing on any volume: its volume record would
      // later read as a removed member's log to keep (a retained volume, the user asked). Dropped
      // first, so an operator dying after the remove leaves no such record; while the member is
      // still listed, its hold or its volume's replacement proves the loss again without it.
      if (step.reason === 'dataLost') {
        ctx.records = Object.fromEntries(Object.entries(ctx.records).filter(([, id]) => id !== step.memberId));
        await writeMembership(ctx, ctx.ordinals, ctx.learners);
      }
      const remaining = await needAdmin(ctx).memberRemove(step.memberId);
      crashpoint('after-member-remove');
      await announce(ctx, remaining);
      await event(ctx, step.reason === 'dataLost' ? 'LostMemberRemoved' : 'MemberRemoved', `removed member ${hexId(step.memberId)} (${step.reason})`);
      return 'acted';
    }
    case 'deleteVolume': {
      // A claim goes only once no pod uses it. Inside the StatefulSet its pod still runs (a member
      // removed behind the operator's back, a learner that timed out below the highest ordinal, on
      // the removed member's data, crash-looping) and would hold the claim forever: it goes too.
      // No member runs there: the planner deletes only the volume of an ordinal etcd does not list.
      const inside = ctx.cluster.spec.storage.type !== 'EmptyDir' && (ctx.live?.spec?.replicas ?? 0) > step.ordinal;
      if (ctx.cluster.spec.storage.type === 'EmptyDir') await ctx.writer.delete('Pod', 'v1', ref.namespace, names.member(ref, step.ordinal));
      else await ctx.writer.delete('PersistentVolumeClaim', 'v1', ref.namespace, names.dataVolumeClaim(ref, step.ordinal));
      if (inside) await ctx.writer.delete('Pod', 'v1', ref.namespace, names.member(ref, step.ordinal));
      const pod = inside ? ` and its pod ${names.member(ref, step.ordinal)}` : '';
      if (step.reason === 'reclaimed') await event(ctx, 'ReclaimedVolumeDeleted', `deleted ${names.dataVolumeClaim(ref, step.ordinal)}${pod}, as its reclaim annotation allows, to add a new member`);
      else await event(ctx, 'StaleVolumeDeleted', `deleted the volume of ordinal ${step.ordinal}${pod}, left by a removed member`);
      return 'acted';
    }
    case 'restartMember': {
      await ctx.writer.delete('Pod', 'v1', ref.namespace, names.member(ref, step.ordinal));
      crashpoint('after-member-restart');
      const what = step.toVersion ? `etcd ${step.toVersion}` : 'the current template';
      await event(ctx, 'MemberRestarted', `restarted ${names.member(ref, step.ordinal)} (${hexId(step.memberId)}) to run ${what}`);
      return 'acted';
    }
    case 'restartStuckPod': {
      const pod = names.member(ref, step.ordinal);
      await ctx.writer.delete('Pod', 'v1', ref.namespace, pod);
      await event(ctx, 'StuckMemberRestarted', `restarted ${pod}: ${step.why}`);
      return 'acted';
    }
    case 'wait':
    case 'awaitDecision':
    case 'none':
      return 'idle';
  }
}
