import { DowngradeAction as Action, type Etcd3 } from 'etcd3';
import { fenceWrite } from '../runtime/pass-scope.js';
import { connectEndpoint, deadline } from './connection.js';
import { toMember, toStatus, uint64 } from './convert.js';
import { EtcdAdminError, classify } from './errors.js';
import type {
  DowngradeAction,
  EndpointProbe,
  EndpointStatus,
  EtcdAdmin,
  EtcdAdminOptions,
  EtcdMember,
  LeaderMove,
  MemberAdded,
  MemberList,
  MemberVersions,
} from './types.js';
import { fetchVersions } from './versions.js';

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

  constructor(private readonly options: EtcdAdminOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd admin client needs at least one endpoint');
    this.endpoints = [...options.endpoints];
  }

  async memberList(options: { linearizable?: boolean; endpoint?: string } = {}): Promise<MemberList> {
    const linearizable = options.linearizable ?? true;
    const call = (c: Etcd3) => c.cluster.memberList({ linearizable }, this.callOptions());
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

  async status(endpoint: string): Promise<EndpointStatus> {
    try {
      return toStatus(endpoint, await this.connection(endpoint).maintenance.status(this.callOptions()));
    } catch (err) {
      throw classify(err, { op: 'status', endpoint });
    }
  }

  statusAll(): Promise<EndpointProbe[]> {
    return Promise.all(
      this.endpoints.map((endpoint) =>
        this.status(endpoint).then(
          (status) => ({ endpoint, status }),
          (err: unknown) => ({ endpoint, error: classify(err, { op: 'status', endpoint }) }),
        ),
      ),
    );
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
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.preferred + i) % this.endpoints.length;
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

export function createEtcdAdmin(options: EtcdAdminOptions): EtcdAdmin {
  return new EtcdAdminClient(options);
}
