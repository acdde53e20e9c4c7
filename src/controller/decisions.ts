import { conditionReasons as R } from '../api/conditions.js';
import { type ClusterRef, annotationKeys, names } from '../resources/names.js';
import { hexId } from '../etcd/convert.js';

/**
 * Decisions the operator leaves to the user: each holds back a change that could destroy or
 * resurrect data. The planner returns one as a step; status, a Warning event and the README say
 * what the two ways forward are.
 */
export type Decision =
  /** A scale-up reached an ordinal whose PVC holds data the operator may not delete on its own. */
  | { reason: 'retainedVolume'; ordinal: number; memberId: string | undefined; predatesCluster: boolean }
  /** A bootstrap would start members on PVCs an earlier EtcdCluster of the same name left behind. */
  | { reason: 'volumesPredateCluster'; ordinals: number[] }
  /** Members answer with a cluster ID other than this EtcdCluster's (hex IDs). */
  | { reason: 'clusterIdMismatch'; expected: string | undefined; answers: { by: string; clusterId: string }[] }
  /** Members hold different data (HashKV at one revision), or etcd raised CORRUPT (src/upkeep). */
  | { reason: 'dataInconsistent'; source: 'hashKV' | 'corruptAlarm'; members: string[] };


/** The condition reason and message (also the Warning event's) of a decision. */
export function describeDecision(d: Decision, ref: ClusterRef): { reason: string; message: string } {
  const ns = `-n ${ref.namespace}`;
  switch (d.reason) {
    case 'retainedVolume': {
      const pvc = names.dataVolumeClaim(ref, d.ordinal);
      const holds = d.memberId !== undefined ? `the data of removed member ${hexId(d.memberId)} (${names.member(ref, d.ordinal)})` : `data of an earlier EtcdCluster named ${ref.name}`;
      return {
        reason: R.retainedVolume,
        message:
          `PVC ${pvc} holds ${holds} and is retained: the operator does not delete it, so member ${d.ordinal} is not added. ` +
          `Either delete it (kubectl delete pvc ${pvc} ${ns}) or allow its reuse (kubectl annotate pvc ${pvc} ${ns} ${annotationKeys.reclaim}=true), and the operator deletes it and adds a new, empty member`,
      };
    }
    case 'volumesPredateCluster': {
      const pvcs = d.ordinals.map((o) => names.dataVolumeClaim(ref, o));
      return {
        reason: R.volumesPredateCluster,
        message:
          `PVCs ${pvcs.join(', ')} are older than this EtcdCluster: they hold the data of an earlier cluster named ${ref.name}, and members would start from it. ` +
          `Either delete them (kubectl delete pvc ${pvcs.join(' ')} ${ns}) to bootstrap a new, empty cluster, ` +
          `or adopt the old data (kubectl annotate etcdcluster ${ref.name} ${ns} ${annotationKeys.adoptClusterId}=<the old status.clusterID>)`,
      };
    }
    case 'clusterIdMismatch': {
      const byId = new Map<string, string[]>();
      for (const a of d.answers) byId.set(a.clusterId, [...(byId.get(a.clusterId) ?? []), a.by]);
      const seen = [...byId].map(([id, by]) => `${id} (${by.join(', ')})`).join(', ');
      const expected = d.expected === undefined ? 'not latched yet' : d.expected;
      return {
        reason: R.clusterIdMismatch,
        message:
          `members answer with cluster ID ${seen}, but this EtcdCluster's cluster ID is ${expected}: the operator changes nothing. ` +
          `If their data is the one to keep, set ${annotationKeys.adoptClusterId}=<that ID> on the EtcdCluster; otherwise delete the pods and PVCs of the members that answer with another ID`,
      };
    }
    case 'dataInconsistent': {
      const found = d.source === 'hashKV' ? `members disagree on their data: the HashKV of ${d.members.join(', ')} differs from the others' at the same revision` : `etcd raised the CORRUPT alarm (member ${d.members.join(', ')})`;
      return {
        reason: R.dataInconsistent,
        message:
          `${found}. The operator stops every automatic change (membership, version, defragmentation) and repairs nothing. ` +
          `Find the member with the bad copy (etcdctl endpoint hashkv --cluster; its logs), then replace it (remove it with etcdctl member remove and delete its PVC) or restore the cluster from a backup; ` +
          `the check runs again on spec.maintenance.consistencyCheck.interval and lifts the stop once members agree (setting consistencyCheck.enabled: false lifts it too)`,
      };
    }
  }
}

/**
 * Remembers, per cluster, the decision last warned about: one Warning event per decision awaited,
 * not one per pass. An operator restart warns once more.
 */
export class DecisionWarnings {
  private readonly sent = new Map<string, string>();

  /** Whether `decision` (undefined: none awaited, which forgets) still needs its Warning. */
  due(key: string, decision: Decision | undefined): boolean {
    if (!decision) this.sent.delete(key);
    return decision !== undefined && this.sent.get(key) !== decisionKey(decision);
  }

  markSent(key: string, decision: Decision): void {
    this.sent.set(key, decisionKey(decision));
  }

  forget(key: string): void {
    this.sent.delete(key);
  }
}

/**
 * A stable key for a decision, so a Warning is sent once while the same decision is awaited. For
 * a mismatch, the IDs matter, not who answered: pods starting one by one are the same news.
 */
export function decisionKey(d: Decision): string {
  if (d.reason !== 'clusterIdMismatch') return JSON.stringify(d);
  return JSON.stringify({ reason: d.reason, expected: d.expected, ids: [...new Set(d.answers.map((a) => a.clusterId))].sort() });
}
