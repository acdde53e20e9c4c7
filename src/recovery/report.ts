/**
 * What the status says for a recovery decision, pure: the survivors, the newest backup, what each
 * option would lose, and the latched highest revision that losses are counted against.
 */
import type { EtcdClusterLastBackup, EtcdClusterLastRevision, EtcdClusterQuorumRecovery, EtcdClusterRecoveryOption } from '../api/types.generated.js';
import type { EtcdView } from '../controller/observe-etcd.js';
import type { Survivor } from './plan.js';

/** The latch is refreshed at most this often: each refresh is a status write. */
export const lastRevisionRefreshMs = 30_000;

/** Voters that answer for themselves (Status needs no quorum), most advanced first. */
export function survivorsOf(etcd: EtcdView | undefined): Survivor[] {
  const out: Survivor[] = [];
  for (const m of etcd?.members ?? []) {
    if (!m.status || m.isLearner || m.ordinal === undefined) continue;
    out.push({ ordinal: m.ordinal, name: m.name, memberId: m.id, appliedIndex: m.status.raftAppliedIndex, revision: m.status.revision });
  }
  const cmp = (a: bigint | undefined, b: bigint | undefined) => ((b ?? -1n) > (a ?? -1n) ? 1 : (b ?? -1n) < (a ?? -1n) ? -1 : 0);
  return out.sort((a, b) => cmp(a.revision, b.revision) || cmp(a.appliedIndex, b.appliedIndex) || a.ordinal - b.ordinal);
}

/**
 * status.lastRevision: while the quorum is healthy, the highest revision a healthy member
 * reports, refreshed at most every 30 s so that a cluster taking writes does not rewrite its
 * status on every pass. Otherwise kept as it was.
 */
export function nextLastRevision(previous: EtcdClusterLastRevision | undefined, etcd: EtcdView | undefined, quorumHealthy: boolean, now: Date): EtcdClusterLastRevision | undefined {
  if (!quorumHealthy || !etcd) return previous;
  const revisions = etcd.members.flatMap((m) => (m.healthy && m.status?.revision !== undefined ? [m.status.revision] : []));
  if (revisions.length === 0) return previous;
  const highest = revisions.reduce((a, b) => (a > b ? a : b));
  if (previous && BigInt(previous.revision) >= highest) return previous;
  if (previous && now.getTime() - Date.parse(previous.observedAt) < lastRevisionRefreshMs) return previous;
  return { revision: Number(highest), observedAt: now.toISOString() };
}

/** The highest revision known: the latch, or a survivor's when that is higher. */
export function referenceRevision(last: EtcdClusterLastRevision | undefined, survivors: Survivor[]): bigint | undefined {
  const known = [...(last ? [BigInt(last.revision)] : []), ...survivors.flatMap((s) => (s.revision !== undefined ? [s.revision] : []))];
  return known.length ? known.reduce((a, b) => (a > b ? a : b)) : undefined;
}

/** status.quorumRecovery, while the quorum of a formed cluster is lost. */
export function quorumRecoveryReport(survivors: Survivor[], reference: bigint | undefined, backup: EtcdClusterLastBackup | undefined): EtcdClusterQuorumRecovery {
  const lost = (rev: bigint | undefined) => (reference !== undefined && rev !== undefined && reference > rev ? Number(reference - rev) : rev === undefined ? undefined : 0);
  const options: EtcdClusterRecoveryOption[] = survivors.map((s) => ({ source: 'Survivor', name: s.name, revision: s.revision === undefined ? undefined : Number(s.revision), lostRevisions: lost(s.revision) }));
  if (backup) {
    const rev = backup.revision === undefined ? undefined : BigInt(backup.revision);
    options.push({ source: 'Backup', name: backup.name, revision: backup.revision, lostRevisions: lost(rev) });
  }
  options.sort((a, b) => (a.lostRevisions ?? Infinity) - (b.lostRevisions ?? Infinity));
  return {
    survivors: survivors.map((s) => ({ name: s.name, memberID: BigInt(s.memberId).toString(16), appliedIndex: Number(s.appliedIndex), revision: s.revision === undefined ? undefined : Number(s.revision) })),
    newestBackup: backup ? { name: backup.name, revision: backup.revision, completionTime: backup.completionTime } : undefined,
    referenceRevision: reference === undefined ? undefined : Number(reference),
    options,
  };
}
