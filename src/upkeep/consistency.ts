/**
 * The consistency check between members: every member's HashKV at one revision. Members that
 * applied the same log hold the same keys, so at the same revision and the same compaction point
 * their hashes are equal; a different hash is a diverged copy (a bug, a bad disk, a restore gone
 * wrong). etcd's own checks (corruption-flags.ts) catch most of it; this one also covers 3.5
 * members and any gap between its checks. The comparison is pure; `checkConsistency` reads.
 */
import type { EtcdAdmin, MemberHash } from '../etcd/types.js';

export type ConsistencyResult =
  | { kind: 'consistent'; revision: bigint; members: number }
  /** Groups of members by the hash they returned, the largest group first. */
  | { kind: 'mismatch'; revision: bigint; groups: { hash: string; members: string[] }[] }
  /** No verdict this time (a member lagged, a compaction came between, a call failed): try again soon. */
  | { kind: 'inconclusive'; why: string };

export interface HashAnswer {
  name: string;
  hash?: MemberHash;
  error?: string;
}

/** Compares the answers of one round, all asked at `revision`. */
export function compareHashes(revision: bigint, answers: HashAnswer[]): ConsistencyResult {
  const failed = answers.filter((a) => !a.hash);
  if (failed.length > 0) return { kind: 'inconclusive', why: failed.map((a) => `${a.name}: ${a.error ?? 'no answer'}`).join('; ') };
  const hashes = answers.map((a) => ({ name: a.name, h: a.hash! }));
  if (hashes.length < 2) return { kind: 'inconclusive', why: 'fewer than two members to compare' };
  if (hashes.some((x) => x.h.revision !== revision)) return { kind: 'inconclusive', why: `not every member hashed revision ${revision}` };
  // A hash covers the keys from the compaction point on: members that compacted at different
  // points (one lagged through a compaction) cannot be compared this round.
  if (new Set(hashes.map((x) => x.h.compactRevision)).size > 1) return { kind: 'inconclusive', why: 'members compacted at different revisions' };
  const byHash = new Map<string, string[]>();
  for (const x of hashes) byHash.set(x.h.hash, [...(byHash.get(x.h.hash) ?? []), x.name]);
  if (byHash.size === 1) return { kind: 'consistent', revision, members: hashes.length };
  const groups = [...byHash].map(([hash, members]) => ({ hash, members: members.sort() })).sort((a, b) => b.members.length - a.members.length || a.members[0]!.localeCompare(b.members[0]!));
  return { kind: 'mismatch', revision, groups };
}

/**
 * Asks every member for its HashKV at the cluster's current revision (read linearizably first,
 * so each member has committed it; one that has not applied it yet makes the round inconclusive).
 */
export async function checkConsistency(admin: EtcdAdmin, members: { name: string; endpoint: string }[]): Promise<ConsistencyResult> {
  let revision: bigint;
  try {
    revision = await admin.currentRevision();
  } catch (err) {
    return { kind: 'inconclusive', why: `reading the revision: ${err instanceof Error ? err.message : String(err)}` };
  }
  const answers = await Promise.all(
    members.map((m) =>
      admin.hashKV(m.endpoint, revision).then(
        (hash): HashAnswer => ({ name: m.name, hash }),
        (err: unknown): HashAnswer => ({ name: m.name, error: err instanceof Error ? err.message : String(err) }),
      ),
    ),
  );
  return compareHashes(revision, answers);
}

/** The members outside the largest group: the likely diverged copies (all of them on a tie). */
export function divergentMembers(result: Extract<ConsistencyResult, { kind: 'mismatch' }>): string[] {
  const [first, second] = result.groups;
  if (second && second.members.length === first!.members.length) return result.groups.flatMap((g) => g.members).sort();
  return result.groups.slice(1).flatMap((g) => g.members).sort();
}
