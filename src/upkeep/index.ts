/**
 * Upkeep of a running cluster, as the reconciler sees it: a gate it asks before planning
 * membership (data inconsistent: change nothing), and one pass after membership and storage had
 * nothing to do: observe alarms (and, when due, the members' HashKV), plan one step, act, report.
 * What it must remember between passes (the last consistency verdict, the revision it compacted
 * to) is kept in memory: an operator restart simply checks again on its first pass.
 */
import type { Logger } from 'winston';
import type { EtcdCluster } from '../api/types.generated.js';
import type { Decision } from '../controller/decisions.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import type { MembershipStep } from '../controller/membership.js';
import type { EtcdView } from '../controller/observe-etcd.js';
import type { EtcdAdmin, EtcdAlarm } from '../etcd/types.js';
import type { ClusterRef } from '../resources/names.js';
import { quotaBytesOf } from '../telemetry/cluster-metrics.js';
import { actUpkeep } from './act.js';
import { type ConsistencyResult, checkConsistency, divergentMembers } from './consistency.js';
import { describeNoSpace, describeProgress } from './describe.js';
import type { UpkeepMetrics } from './metrics.js';
import { type UpkeepMember, type UpkeepStep, compactionWaitMs, planUpkeep } from './plan.js';
import { settingsOf } from './settings.js';

/** An inconclusive check is tried again this soon (a lagging member, a compaction in between). */
const inconclusiveRetryMs = 30_000;

interface Memo {
  nextCheckAt: number;
  mismatch?: Extract<ConsistencyResult, { kind: 'mismatch' }>;
  corrupt: EtcdAlarm[];
  compactedRevision?: bigint;
  /** Members defragmented since that compaction (see planUpkeep). */
  noSpaceDefragmented: string[];
  /** Since when leadership has waited for followers still applying a compaction (ms). */
  applyingSince?: number;
}

export interface UpkeepPass {
  key: string;
  cluster: EtcdCluster;
  ref: ClusterRef;
  admin: EtcdAdmin | undefined;
  etcd: EtcdView | undefined;
  /** Membership, versions and storage have nothing to do, and nothing blocks changes. */
  idle: boolean;
  writer: KubeWriter;
  log: Logger;
  now: Date;
}

export interface UpkeepOutcome {
  step: UpkeepStep;
  /** Things a person must act on (NOSPACE), for Degraded and Warning events. */
  problems: { reason: string; message: string; key?: string }[];
  /** Work under way, for Progressing when membership has none to show. */
  progress?: { reason: string; message: string };
  requeueAfterMs: number;
}

/** Alarms as members list them in Status (`memberID:<id> alarm:<TYPE> `), the one place without a typed form. */
const statusAlarm = /^memberID:(\d+) alarm:(NOSPACE|CORRUPT)\s*$/;

function alarmsInStatus(etcd: EtcdView): EtcdAlarm[] {
  const found = new Map<string, EtcdAlarm>();
  for (const m of etcd.members) {
    for (const e of m.status?.errors ?? []) {
      const match = statusAlarm.exec(e);
      if (match) found.set(`${match[1]}/${match[2]}`, { memberId: match[1]!, alarm: match[2] as EtcdAlarm['alarm'] });
    }
  }
  return [...found.values()];
}

/**
 * Every member answered Status this pass and none lists an alarm: then none is raised, and the
 * read through raft is spared. Each member applies the alarms from the raft log and lists those it
 * holds in Status, so with every member answering, the leader among them, an alarm is missing only
 * if raised after their answers, as from a read a moment earlier; the next pass sees it. An
 * AlarmList is a raft proposal (an entry and an fsync on every member), on every quiet pass of
 * every cluster otherwise. Any alarm listed, or a member silent, reads through raft as before.
 */
function noAlarmInStatus(etcd: EtcdView): boolean {
  return etcd.members.length > 0 && etcd.members.every((m) => m.status !== undefined) && alarmsInStatus(etcd).length === 0;
}

function membersOf(etcd: EtcdView): UpkeepMember[] {
  return etcd.members.map((m) => ({
    id: m.id,
    name: m.name,
    endpoint: m.status?.endpoint,
    isLearner: m.isLearner,
    isLeader: m.isLeader,
    started: m.started,
    healthy: m.healthy,
    dbSize: m.status?.dbSize,
    dbSizeInUse: m.status?.dbSizeInUse,
  }));
}

export class Upkeep {
  private readonly memos = new Map<string, Memo>();

  constructor(private readonly metrics?: UpkeepMetrics) {}

  /**
   * A membership step that holds every change while members' data is known to disagree. A CORRUPT
   * alarm in this pass's statuses (`etcd`) holds this pass already, not only the next one.
   */
  gate(key: string, etcd?: EtcdView): MembershipStep | undefined {
    const memo = this.memos.get(key);
    const corrupt = [...(memo?.corrupt ?? []), ...(etcd ? alarmsInStatus(etcd).filter((a) => a.alarm === 'CORRUPT') : [])];
    let decision: Decision | undefined;
    if (corrupt.length) decision = { reason: 'dataInconsistent', source: 'corruptAlarm', members: [...new Set(corrupt.map((a) => BigInt(a.memberId).toString(16)))].sort() };
    else if (memo?.mismatch) decision = { reason: 'dataInconsistent', source: 'hashKV', members: divergentMembers(memo.mismatch) };
    return decision ? { kind: 'awaitDecision', decision } : undefined;
  }

  forget(key: string, ref: ClusterRef): void {
    this.memos.delete(key);
    this.metrics?.forget(ref);
  }

  async pass(p: UpkeepPass): Promise<UpkeepOutcome> {
    const memo = this.memos.get(p.key) ?? { nextCheckAt: 0, corrupt: [], noSpaceDefragmented: [] };
    this.memos.set(p.key, memo);
    const settings = settingsOf(p.cluster);
    if (!p.admin || !p.etcd) return { step: { kind: 'none' }, problems: [], requeueAfterMs: Infinity };
    // Alarms are read through raft. Without a confirmed quorum (a CORRUPT alarm makes every member
    // unhealthy) only the members' own Status lists them; nothing is done then.
    if (!p.etcd.quorumConfirmed) {
      memo.corrupt = alarmsInStatus(p.etcd).filter((a) => a.alarm === 'CORRUPT');
      return { step: { kind: 'none' }, problems: [], requeueAfterMs: Infinity };
    }
    const alarms = noAlarmInStatus(p.etcd) ? [] : await this.readAlarms(p.admin, p.log);
    if (!alarms) return { step: { kind: 'none' }, problems: [], requeueAfterMs: 2_000 };
    memo.corrupt = alarms.filter((a) => a.alarm === 'CORRUPT');
    this.metrics?.alarms(p.ref, alarms);
    const members = membersOf(p.etcd);
    await this.checkIfDue(p, memo, settings.consistency, members);
    const noSpace = alarms.filter((a) => a.alarm === 'NOSPACE');
    if (noSpace.length === 0) {
      memo.compactedRevision = undefined;
      memo.noSpaceDefragmented = [];
    }
    const revision = noSpace.length > 0 ? await p.admin.currentRevision().catch(() => undefined) : undefined;
    const quotaBytes = quotaBytesOf(p.cluster);
    const step = planUpkeep({
      defrag: settings.defrag,
      members,
      quorumConfirmed: p.etcd.quorumConfirmed,
      alarms,
      quotaBytes,
      membershipIdle: p.idle,
      inconsistent: memo.mismatch !== undefined,
      revision,
      compactedRevision: memo.compactedRevision,
      noSpaceDefragmented: memo.noSpaceDefragmented,
      compactionWaitOver: memo.applyingSince !== undefined && p.now.getTime() - memo.applyingSince >= compactionWaitMs,
    });
    if (step.kind === 'wait') p.log.debug('upkeep waits', { reason: step.reason, alarms: alarms.length });
    const acted = await actUpkeep(step, { admin: p.admin, cluster: p.cluster, ref: p.ref, writer: p.writer, log: p.log, now: p.now, metrics: this.metrics });
    if (step.kind === 'compact') {
      memo.compactedRevision = step.revision;
      memo.noSpaceDefragmented = [];
    }
    if (step.kind === 'defragment' && step.reason === 'noSpace') memo.noSpaceDefragmented.push(step.memberId);
    const problems = noSpace.length > 0 ? [describeNoSpace(noSpace, step.kind === 'wait' && step.reason === 'noSpaceNeedsUser', quotaBytes)] : [];
    // A check that could not run (one member, or one not healthy) asks for no pass of its own: the
    // next pass, on the health refresh or an event, tries again. Polling every second instead made
    // each one-member cluster pass once a second (bench/many-clusters.ts).
    const untilCheck = settings.consistency.enabled && memo.nextCheckAt > p.now.getTime() ? Math.max(1_000, memo.nextCheckAt - p.now.getTime()) : Infinity;
    // A member still applying a compaction is looked at again soon, not on the next health refresh.
    const applying = step.kind === 'wait' && step.reason === 'compactionApplying';
    memo.applyingSince = applying ? (memo.applyingSince ?? p.now.getTime()) : undefined;
    const requeueAfterMs = acted ? 500 : applying ? 2_000 : noSpace.length > 0 ? 5_000 : untilCheck;
    return { step, problems, progress: describeProgress(step, noSpace.length > 0), requeueAfterMs };
  }

  /** The raised alarms, or undefined when the read failed (logged; the next pass reads again). */
  private async readAlarms(admin: EtcdAdmin, log: Logger): Promise<EtcdAlarm[] | undefined> {
    try {
      return await admin.alarmList();
    } catch (err) {
      log.debug('could not read the alarms', { error: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  }

  /** Runs the consistency check when due and every member answers; keeps its verdict. */
  private async checkIfDue(p: UpkeepPass, memo: Memo, s: { enabled: boolean; intervalMs: number }, members: UpkeepMember[]): Promise<void> {
    const now = p.now.getTime();
    // Turning the check off is the user's way to lift a stop they have looked into.
    if (!s.enabled) {
      memo.mismatch = undefined;
      this.metrics?.consistency(p.ref, memo.corrupt.length > 0, undefined);
      return;
    }
    const ready = p.etcd!.quorumConfirmed && members.length > 1 && members.every((m) => m.started && m.healthy && m.endpoint);
    if (now < memo.nextCheckAt || !ready) {
      this.metrics?.consistency(p.ref, memo.mismatch !== undefined || memo.corrupt.length > 0, undefined);
      return;
    }
    const result = await checkConsistency(p.admin!, members.map((m) => ({ name: m.name, endpoint: m.endpoint! })));
    memo.nextCheckAt = now + (result.kind === 'inconclusive' ? Math.min(s.intervalMs, inconclusiveRetryMs) : s.intervalMs);
    if (result.kind === 'inconclusive') {
      p.log.debug('consistency check inconclusive', { why: result.why });
    } else {
      const was = memo.mismatch !== undefined;
      memo.mismatch = result.kind === 'mismatch' ? result : undefined;
      if (result.kind === 'mismatch') p.log.warn('members disagree on their data', { revision: result.revision.toString(), groups: result.groups });
      else if (was) p.log.info('members agree on their data again', { revision: result.revision.toString() });
    }
    this.metrics?.consistency(p.ref, memo.mismatch !== undefined || memo.corrupt.length > 0, result.kind === 'inconclusive' ? undefined : p.now);
  }
}
