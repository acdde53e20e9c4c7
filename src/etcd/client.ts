import { DowngradeAction as Action, type Etcd3, type IHashKVResponse } from 'etcd3';
import { fenceWrite } from '../runtime/pass-scope.js';
import { connectEndpoint, deadline } from './connection.js';
import { toMember, toStatus, uint64 } from './convert.js';
import { EndpointMemory, probeAll } from './endpoint-memory.js';
import { EtcdAdminError, classify } from './errors.js';
import type {
  DowngradeAction,
  EndpointProbe,
  EndpointStatus,
  EtcdAdmin,
  EtcdAdminOptions,
  EtcdAlarm,
  EtcdMember,
  LeaderMove,
  MemberAdded,
  MemberHash,
  MemberList,
  MemberVersions,
} from './types.js';
import { fetchVersions } from './versions.js';

/**
 * Defragmentation rewrites a member's whole database file: seconds for a few GiB, far longer than
 * an ordinary call. It is bounded by its own deadline, and only one runs at a time.
 */
const defragmentTimeoutMs = 120_000;

/** The untyped call path under etcd3's Maintenance client (see hashKV). */
interface RawMaintenance {
  client: { exec(service: 'Maintenance', method: 'HashKV', req: { revision: string }, options: { deadline: number }): Promise<IHashKVResponse> };
}

function int64(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new TypeError(`etcd returned ${field} as ${typeof value}, expected a decimal string`);
  return BigInt(value);
}

/** etcd3's names of the alarm enum (as decoded) to etcd's own, as etcdctl prints them. */
const alarmNames: Record<string, EtcdAlarm['alarm']> = { Nospace: 'NOSPACE', Corrupt: 'CORRUPT', '1': 'NOSPACE', '2': 'CORRUPT' };

/** The leader as found just before a change, and where to send the change. */
interface Leader {
  id: string;
  endpoint: string;
}

/** The etcd admin client over etcd3's gRPC clients; see `EtcdAdmin` for the contract. */
export class EtcdAdminClient implements EtcdAdmin {
  readonly endpoints: readonly string[];
  private readonly connections = new Map<string, Etcd3>();
  /** Reads start at the endpoint that last answered, so one dead member costs one attempt. */
  private preferred = 0;
  private closed = false;
  private readonly memory: EndpointMemory;
  /** Calls one member answers alone (Status, its own member list) wait this long, not the full deadline. */
  private readonly memberTimeoutMs: number;

  constructor(private readonly options: EtcdAdminOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd admin client needs at least one endpoint');
    this.endpoints = [...options.endpoints];
    this.memory = options.memory ?? new EndpointMemory();
    this.memberTimeoutMs = Math.min(options.memberCallTimeoutMs ?? defaultMemberCallTimeoutMs, options.callTimeoutMs);
  }

  async memberList(options: { linearizable?: boolean; endpoint?: string } = {}): Promise<MemberList> {
    const linearizable = options.linearizable ?? true;
    // A serializable list from one member is that member's own answer: the short deadline.
    const timeoutMs = options.endpoint !== undefined && !linearizable ? this.memberTimeoutMs : this.options.callTimeoutMs;
    const call = (c: Etcd3) => c.cluster.memberList({ linearizable }, deadline(timeoutMs));
    const res = options.endpoint !== undefined ? await this.send('memberList', options.endpoint, call, false) : await this.read('memberList', call);
    return {
      clusterId: uint64(res.header.cluster_id, 'cluster_id'),
      reportedBy: uint64(res.header.member_id, 'member_id'),
      members: res.members.map(toMember),
    };
  }

  memberAddLearner(peerURLs: string[]): Promise<MemberAdded> {
    return this.add(peerURLs, true);
  }

  async memberPromote(id: string): Promise<EtcdMember[]> {
    const res = await this.mutate('memberPromote', (c) => c.cluster.memberPromote({ ID: uint64(id, 'id') }, this.callOptions()));
    return res.members.map(toMember);
  }

  async memberRemove(id: string): Promise<EtcdMember[]> {
    const res = await this.mutate('memberRemove', (c) => c.cluster.memberRemove({ ID: uint64(id, 'id') }, this.callOptions()));
    return res.members.map(toMember);
  }

  status(endpoint: string): Promise<EndpointStatus> {
    return this.memory.track(endpoint, async () => {
      try {
        return toStatus(endpoint, await this.connection(endpoint).maintenance.status(deadline(this.memberTimeoutMs)));
      } catch (err) {
        throw classify(err, { op: 'status', endpoint });
      }
    });
  }

  /** A member known to hang is reported with its last error at once (see EndpointMemory). */
  statusAll(): Promise<EndpointProbe[]> {
    return probeAll(this.endpoints, this.memory, (endpoint) => this.status(endpoint));
  }

  /** A linearizable read must commit through raft; permission denied still proves that. */
  async moveLeader(targetId: string): Promise<LeaderMove> {
    const target = uint64(targetId, 'targetId');
    const leader = await this.findLeader('moveLeader');
    if (leader.id === target) return { fromId: leader.id, toId: target };
    fenceWrite();
    await this.send('moveLeader', leader.endpoint, (c) => c.maintenance.moveLeader({ targetID: target }, this.callOptions()));
    return { fromId: leader.id, toId: target };
  }

  async alarmList(): Promise<EtcdAlarm[]> {
    const res = await this.read('alarmList', (c) => c.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' }, this.callOptions()));
    return res.alarms.flatMap((a): EtcdAlarm[] => {
      const alarm = alarmNames[String(a.alarm)];
      return alarm ? [{ memberId: uint64(a.memberID, 'memberID'), alarm }] : [];
    });
  }

  async alarmDisarm(alarm: EtcdAlarm): Promise<void> {
    const type = alarm.alarm === 'NOSPACE' ? 'Nospace' : 'Corrupt';
    await this.mutate('alarmDisarm', (c) => c.maintenance.alarm({ action: 'Deactivate', memberID: uint64(alarm.memberId, 'memberId'), alarm: type }, this.callOptions()));
  }

  async currentRevision(): Promise<bigint> {
    // A count-only range of one key: the header carries the revision, the answer nothing else.
    const res = await this.read('currentRevision', (c) => c.kv.range({ key: Buffer.from('\0'), count_only: true }, this.callOptions()));
    return BigInt(uint64(res.header.revision, 'revision'));
  }

  async compact(revision: bigint): Promise<void> {
    try {
      await this.mutate('compact', (c) => c.kv.compact({ revision: revision.toString() }, this.callOptions()));
    } catch (err) {
      if (err instanceof EtcdAdminError && err.kind === 'Compacted') return;
      throw err;
    }
  }

  async defragment(endpoint: string): Promise<void> {
    fenceWrite();
    await this.send('defragment', endpoint, (c) => c.maintenance.defragment(deadline(Math.max(defragmentTimeoutMs, this.options.callTimeoutMs))));
  }

  async hashKV(endpoint: string, revision: bigint): Promise<MemberHash> {
    // etcd3's maintenance.hashKV asks grpc-js for a method named `hashKV`, which its loader names
    // `hashKv`: the call always fails. The service's own method name reaches the same RPC.
    const call = (c: Etcd3) => (c.maintenance as unknown as RawMaintenance).client.exec('Maintenance', 'HashKV', { revision: revision.toString() }, deadline(Math.max(defragmentTimeoutMs, this.options.callTimeoutMs)));
    const res = await this.send('hashKV', endpoint, call, false);
    return {
      endpoint,
      memberId: uint64(res.header.member_id, 'member_id'),
      revision: BigInt(uint64(res.header.revision, 'revision')),
      // int64: -1 until the first compaction.
      compactRevision: int64(res.compact_revision, 'compact_revision'),
      hash: String(res.hash),
    };
  }

  versions(endpoint: string): Promise<MemberVersions> {
    return fetchVersions(endpoint, this.options, this.options.callTimeoutMs);
  }

  /** A downgrade changes the cluster version: sent once, to the leader, like a membership change. */
  async downgrade(action: DowngradeAction, version: string): Promise<string> {
    const code = { validate: Action.Validate, enable: Action.Enable, cancel: Action.Cancel }[action];
    const call = (c: Etcd3) => c.maintenance.downgrade({ action: code, version }, this.callOptions());
    const res = action === 'validate' ? await this.read('downgradeValidate', call) : await this.mutate(`downgrade${action === 'enable' ? 'Enable' : 'Cancel'}`, call);
    return res.version;
  }

  close(): void {
    this.closed = true;
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  private async add(peerURLs: string[], isLearner: boolean): Promise<MemberAdded> {
    const op = isLearner ? 'memberAddLearner' : 'memberAdd';
    const res = await this.mutate(op, (c) => c.cluster.memberAdd({ peerURLs, isLearner }, this.callOptions()));
    return {
      clusterId: uint64(res.header.cluster_id, 'cluster_id'),
      member: toMember(res.member),
      members: res.members.map(toMember),
    };
  }

  private callOptions(): { deadline: number } {
    return deadline(this.options.callTimeoutMs);
  }

  private connection(endpoint: string): Etcd3 {
    if (this.closed) throw new Error('etcd admin client is closed');
    let connection = this.connections.get(endpoint);
    if (!connection) {
      connection = connectEndpoint(endpoint, this.options.tls, this.options.serverNames?.[endpoint]);
      this.connections.set(endpoint, connection);
    }
    return connection;
  }

  /** Reads fail over: each endpoint is tried once, moving on only after a retryable error. */
  private async read<T>(op: string, call: (c: Etcd3) => Promise<T>): Promise<T> {
    let last: EtcdAdminError | undefined;
    const order = this.endpoints.map((_, i) => (this.preferred + i) % this.endpoints.length);
    // Members known to hang are tried last, so a read waits on one only when no other answers.
    const silentLast = [...order.filter((i) => !this.memory.silenced(this.endpoints[i]!)), ...order.filter((i) => this.memory.silenced(this.endpoints[i]!))];
    for (const index of silentLast) {
      const endpoint = this.endpoints[index]!;
      try {
        const result = await call(this.connection(endpoint));
        this.preferred = index;
        return result;
      } catch (err) {
        last = classify(err, { op, endpoint });
        if (!last.retryable) throw last;
      }
    }
    throw last ?? new Error('unreachable: no endpoints');
  }

  /** Membership changes go to the leader, once: no retry, no failover. */
  private async mutate<T>(op: string, call: (c: Etcd3) => Promise<T>): Promise<T> {
    const leader = await this.findLeader(op);
    // A process that may have lost its lease sends no membership change (see pass-scope.ts).
    fenceWrite();
    return this.send(op, leader.endpoint, call);
  }

  private async send<T>(op: string, endpoint: string, call: (c: Etcd3) => Promise<T>, mutating = true): Promise<T> {
    try {
      return await call(this.connection(endpoint));
    } catch (err) {
      throw classify(err, { op, endpoint, mutating });
    }
  }

  /**
   * Finds the leader from the members' own statuses. If no configured endpoint is the leader,
   * the leader's advertised client URL (from the member list) is used instead.
   */
  private async findLeader(op: string): Promise<Leader> {
    const statuses = (await this.statusAll()).flatMap((p) => ('status' in p ? [p.status] : []));
    const leading = statuses.find((s) => s.leaderId !== '0' && s.memberId === s.leaderId);
    if (leading) return { id: leading.memberId, endpoint: leading.endpoint };
    const leaderId = statuses.find((s) => s.leaderId !== '0')?.leaderId;
    if (leaderId === undefined) throw new EtcdAdminError({ kind: 'NoLeader', op, detail: 'no endpoint reports a leader' });
    const advertised = (await this.memberList({ linearizable: false })).members.find((m) => m.id === leaderId)?.clientURLs[0];
    if (advertised === undefined) {
      throw new EtcdAdminError({ kind: 'NoLeader', op, detail: `leader ${leaderId} advertises no client URL` });
    }
    return { id: leaderId, endpoint: advertised };
  }
}

/** Long enough for a member on a loaded node to answer Status over an established connection. */
export const defaultMemberCallTimeoutMs = 2_000;

export function createEtcdAdmin(options: EtcdAdminOptions): EtcdAdmin {
  return new EtcdAdminClient(options);
}
