/**
 * The etcd side: which member to take the snapshot from, and its Maintenance.Snapshot stream as
 * plain bytes (etcd's trailer still attached; stream.ts checks and strips it).
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ISnapshotResponse } from 'etcd3';
import { connectEndpoint, deadline } from '../etcd/connection.js';
import type { EtcdAdmin, EtcdTls } from '../etcd/types.js';

export interface MemberEndpoint {
  url: string;
  serverName: string;
}

export interface MemberHealth {
  /** Whether a majority of voters answered and knows a leader (electing: answered, none knows one). */
  quorum: 'ok' | 'electing' | 'lost' | 'unknown';
  /** Healthy voters to stream from, followers first (the leader keeps serving writes). */
  candidates: MemberEndpoint[];
}

/** Judges quorum from the members' own statuses, as etcd sees itself. */
export async function observeMembers(admin: EtcdAdmin, endpoints: MemberEndpoint[]): Promise<MemberHealth> {
  const probes = await admin.statusAll();
  const answered = probes.flatMap((p) => ('status' in p ? [p.status] : []));
  if (answered.length === 0) return { quorum: 'unknown', candidates: [] };
  let voters: number;
  try {
    voters = (await admin.memberList({ linearizable: false })).members.filter((m) => !m.isLearner).length;
  } catch {
    return { quorum: 'unknown', candidates: [] };
  }
  const up = answered.filter((s) => !s.isLearner && s.errors.length === 0);
  const healthy = up.filter((s) => s.leaderId !== '0');
  const followersFirst = [...healthy].sort((a, b) => Number(a.memberId === a.leaderId) - Number(b.memberId === b.leaderId));
  const byUrl = new Map(endpoints.map((e) => [e.url, e]));
  return {
    quorum: healthy.length * 2 > voters ? 'ok' : up.length * 2 > voters ? 'electing' : 'lost',
    candidates: followersFirst.flatMap((s) => (byUrl.has(s.endpoint) ? [byUrl.get(s.endpoint)!] : [])),
  };
}

export interface OpenSnapshot {
  /**
   * Revision the member had applied just before the snapshot began: a lower bound only (writes in
   * between are in the snapshot). The exact one is read from the bytes (bolt-revision.ts).
   */
  revisionBefore: number;
  clusterID: string;
  memberID: string;
  etcdVersion: string;
  /** The database followed by its SHA-256, as etcd sends it. */
  bytes: Readable;
  close(): void;
}

/** A snapshot stream may run for many minutes; the deadline only bounds a stuck member. */
const snapshotDeadlineMs = 60 * 60_000;

const hex = (decimal: string) => BigInt(decimal).toString(16);

/** Opens Maintenance.Snapshot on one member, after reading its revision from the same member. */
export async function openSnapshot(member: MemberEndpoint, tls: EtcdTls, callTimeoutMs: number, signal: AbortSignal): Promise<OpenSnapshot> {
  const client = connectEndpoint(member.url, tls, member.serverName);
  try {
    const status = await client.maintenance.status(deadline(callTimeoutMs));
    const calls = (await client.maintenance.snapshot(deadline(snapshotDeadlineMs))) as unknown as Readable & { cancel(): void };
    const close = () => {
      calls.cancel();
      client.close();
    };
    signal.addEventListener('abort', close, { once: true });
    const blobs = new Transform({
      writableObjectMode: true,
      transform(message: ISnapshotResponse, _encoding: BufferEncoding, callback: TransformCallback) {
        callback(null, message.blob);
      },
    });
    calls.on('error', (err) => blobs.destroy(err));
    calls.pipe(blobs);
    return {
      revisionBefore: Number(status.header.revision),
      clusterID: hex(status.header.cluster_id),
      memberID: hex(status.header.member_id),
      etcdVersion: status.version,
      bytes: blobs,
      close: () => {
        signal.removeEventListener('abort', close);
        close();
      },
    };
  } catch (err) {
    client.close();
    throw err;
  }
}
