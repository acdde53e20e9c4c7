/**
 * The controller's side of a downgrade (planned in downgrade.ts): read each member's versions,
 * plan, send the one downgrade call a phase needs, and say whether member restarts must wait.
 */
import type { Logger } from 'winston';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import type { MembershipStep, ObservedMember } from '../controller/membership.js';
import type { EtcdView } from '../controller/observe-etcd.js';
import type { EtcdAdmin } from '../etcd/types.js';
import { crashpoint } from '../runtime/crashpoints.js';
import { type DowngradeMember, type DowngradePlan, planDowngrade } from './downgrade.js';
import { rollBlocker } from './roll.js';

export interface DowngradeOutcome {
  plan: DowngradePlan;
  /** Restarts wait: the downgrade is not enabled, its data not migrated, or a call was just sent. */
  holdsRestarts: boolean;
  progress?: { reason: string; message: string };
  /** Look again soon while etcd migrates: nothing else wakes the cluster up. */
  requeueAfterMs?: number;
}

async function observeVersions(admin: EtcdAdmin, etcd: EtcdView): Promise<DowngradeMember[]> {
  return Promise.all(
    etcd.members.map(async (m) => {
      const label = m.name || `member ${m.id}`;
      const endpoint = m.status?.endpoint;
      const versions = endpoint ? await admin.versions(endpoint).catch(() => undefined) : undefined;
      return { label, versions };
    }),
  );
}

/** How often a cluster with no downgrade in sight is still asked whether etcd holds one. */
export const idleDowngradeCheckMs = 5 * 60_000;

const minorOf = (version: string | undefined) => (version ? version.replace(/^v/, '').split('.').slice(0, 2).join('.') : undefined);

/**
 * Whether this pass reads every member's versions (two HTTPS calls each). A downgrade is in sight
 * when spec.version is a lower minor than a member runs, when members run different minors (a
 * roll under way), or when the last status said Downgrading. Otherwise etcd is asked only every
 * `idleDowngradeCheckMs`, and on the first pass of this process, so that a downgrade left enabled
 * (spec set back while the operator was away) is still found and cancelled. Pure.
 */
export function downgradeInSight(cluster: EtcdCluster, etcd: EtcdView, lastCheckedAt: number | undefined, now: number): boolean {
  if (lastCheckedAt === undefined || now - lastCheckedAt >= idleDowngradeCheckMs) return true;
  const running = new Set(etcd.members.map((m) => minorOf(m.status?.version)).filter((v): v is string => v !== undefined));
  const desired = minorOf(cluster.spec.version)!;
  if (running.size > 1 || [...running].some((v) => v !== desired)) return true;
  return cluster.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === R.downgrading) === true;
}

export async function reconcileDowngrade(i: {
  cluster: EtcdCluster;
  admin: EtcdAdmin | undefined;
  etcd: EtcdView | undefined;
  members: ObservedMember[] | undefined;
  writer: KubeWriter;
  log: Logger;
  now: Date;
  /** When this process last read the cluster's versions: kept by the reconciler per cluster. */
  checked: Map<string, number>;
}): Promise<DowngradeOutcome> {
  if (!i.admin || !i.etcd?.quorumConfirmed) return { plan: { kind: 'none' }, holdsRestarts: false };
  const key = i.cluster.metadata.uid ?? `${i.cluster.metadata.namespace}/${i.cluster.metadata.name}`;
  if (!downgradeInSight(i.cluster, i.etcd, i.checked.get(key), i.now.getTime())) return { plan: { kind: 'none' }, holdsRestarts: false };
  i.checked.set(key, i.now.getTime());
  const members = await observeVersions(i.admin, i.etcd);
  const plan = planDowngrade({ desired: i.cluster.spec.version, members, blocker: rollBlocker(i.members ?? []) });
  if (plan.kind === 'none') return { plan, holdsRestarts: false };
  const progress = { reason: R.downgrading, message: plan.detail };
  if (plan.kind === 'enable') {
    // Validate first: etcd says why it refuses before anything changes.
    await i.admin.downgrade('validate', plan.target);
    const from = await i.admin.downgrade('enable', plan.target);
    crashpoint('after-downgrade-enable');
    i.log.info('downgrade enabled', { target: plan.target, clusterVersion: from });
    await i.writer.event(i.cluster, 'Normal', R.downgradeEnabled, `downgrade of the cluster version from ${from} to ${plan.target} enabled: members move to ${i.cluster.spec.version} once their data is migrated`, i.now);
  } else if (plan.kind === 'cancel') {
    await i.admin.downgrade('cancel', plan.target);
    i.log.info('downgrade cancelled', { target: plan.target });
    await i.writer.event(i.cluster, 'Normal', R.downgradeCancelled, `downgrade to ${plan.target} cancelled: spec.version ${i.cluster.spec.version} is the members' release`, i.now);
  }
  return { plan, holdsRestarts: plan.kind !== 'roll', progress, requeueAfterMs: 2_000 };
}

/**
 * Whether the membership step waits: a pass that sent a downgrade call changes nothing else (one
 * change per pass), and restarts wait until etcd is ready for the old binary.
 */
export function heldByDowngrade(step: MembershipStep, outcome: DowngradeOutcome | undefined): boolean {
  if (!outcome?.holdsRestarts || step.kind === 'none' || step.kind === 'wait' || step.kind === 'awaitDecision') return false;
  return outcome.plan.kind === 'enable' || outcome.plan.kind === 'cancel' || step.kind === 'restartMember' || step.kind === 'moveLeader';
}
