import type { IMember, IStatusResponse } from 'etcd3';
import type { EndpointStatus, EtcdMember } from './types.js';

const decimal = /^\d+$/;

/**
 * etcd3 decodes uint64 fields as decimal strings. Fail loudly if one ever arrives as anything
 * else, because a JS number would silently round member IDs above 2^53.
 */
export function uint64(value: unknown, field: string): string {
  if (typeof value !== 'string' || !decimal.test(value)) {
    throw new TypeError(`etcd returned ${field} as ${typeof value}, expected a decimal string`);
  }
  return value;
}

/** An int64 byte count as a number; sizes stay far below 2^53 but we check rather than assume. */
function byteCount(value: unknown, field: string): number {
  const n = Number(uint64(value, field));
  if (!Number.isSafeInteger(n)) throw new RangeError(`etcd ${field} ${String(value)} exceeds a safe integer`);
  return n;
}

export function toMember(m: IMember): EtcdMember {
  return {
    id: uint64(m.ID, 'member ID'),
    name: m.name,
    peerURLs: [...m.peerURLs],
    clientURLs: [...m.clientURLs],
    isLearner: m.isLearner,
  };
}

export function toStatus(endpoint: string, s: IStatusResponse): EndpointStatus {
  return {
    endpoint,
    clusterId: uint64(s.header.cluster_id, 'cluster_id'),
    memberId: uint64(s.header.member_id, 'member_id'),
    leaderId: uint64(s.leader, 'leader'),
    raftIndex: BigInt(uint64(s.raftIndex, 'raftIndex')),
    raftAppliedIndex: BigInt(uint64(s.raftAppliedIndex, 'raftAppliedIndex')),
    raftTerm: BigInt(uint64(s.raftTerm, 'raftTerm')),
    revision: BigInt(uint64(s.header.revision, 'revision')),
    dbSize: byteCount(s.dbSize, 'dbSize'),
    dbSizeInUse: byteCount(s.dbSizeInUse, 'dbSizeInUse'),
    version: s.version,
    isLearner: s.isLearner,
    errors: [...s.errors],
  };
}

/** A member or cluster ID (decimal string) as etcdctl and the status print it: hexadecimal. */
export function hexId(decimal: string): string {
  return BigInt(decimal).toString(16);
}
