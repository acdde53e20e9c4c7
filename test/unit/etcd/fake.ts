import { EtcdAdminError, type EtcdAdminErrorKind } from '../../../src/etcd/errors.js';
import type { DowngradeAction, EndpointProbe, EndpointStatus, EtcdAdmin, EtcdMember, LeaderMove, MemberAdded, MemberList, MemberVersions } from '../../../src/etcd/types.js';

/** A member of the fake cluster plus the process state real etcd would have. */
interface FakeMemberState extends EtcdMember {
  /** Its process runs; false for a member added but not started, or one marked down. */
  running: boolean;
  /** A learner whose log is close enough to the leader's to be promoted. */
  caughtUp: boolean;
}

type Op = 'memberList' | 'memberAddLearner' | 'memberPromote' | 'memberRemove' | 'status' | 'moveLeader' | 'versions' | 'downgrade';

const changes: ReadonlySet<string> = new Set(['memberAddLearner', 'memberPromote', 'memberRemove', 'moveLeader', 'downgrade']);

/**
 * An in-memory stand-in for `EtcdAdmin`, for unit tests of the planner and reconciler. It keeps
 * the rules the integration tests show real etcd 3.6 enforcing: one learner at a time, no
 * promotion before catching up, no change while a voter is down, leadership only to a voter.
 * IDs start above 2^63 so that anything rounding them through a JS number shows up.
 */
export class FakeEtcdAdmin implements EtcdAdmin {
  readonly clusterId = '14841639068965178418';
  leaderId: string;
  maxLearners = 1;
  closed = false;
  /** etcd 3.6 members: the cluster version, lowered by an enabled downgrade (storage follows at once here). */
  clusterVersion = '3.6.0';
  downgradeTarget: string | undefined;
  private readonly members = new Map<string, FakeMemberState>();
  private readonly injected = new Map<Op, EtcdAdminErrorKind[]>();
  private nextId = 10276657743932975437n;
  private raftIndex = 100n;

  /** Starts with running, caught-up voters; the first one leads. */
  constructor(voters: { name: string; peerURL: string; clientURL: string }[]) {
    for (const v of voters) {
      const id = this.newId();
      this.members.set(id, { id, name: v.name, peerURLs: [v.peerURL], clientURLs: [v.clientURL], isLearner: false, running: true, caughtUp: true });
    }
    this.leaderId = [...this.members.keys()][0] ?? '0';
  }

  get endpoints(): readonly string[] {
    return [...this.members.values()].filter((m) => m.running).flatMap((m) => m.clientURLs);
  }

  // --- test controls --------------------------------------------------------------------------

  /** The added member's process started: it gets its name and client URL, not yet caught up. */
  startMember(id: string, name: string, clientURL: string): void {
    Object.assign(this.member(id, 'startMember'), { name, clientURLs: [clientURL], running: true });
  }

  setCaughtUp(id: string, caughtUp = true): void {
    this.member(id, 'setCaughtUp').caughtUp = caughtUp;
  }

  /** Its process stops (true) or runs again (false). A down leader hands leadership on. */
  setDown(id: string, down = true): void {
    this.member(id, 'setDown').running = !down;
    if (down && id === this.leaderId) this.leaderId = this.runningVoters()[0]?.id ?? '0';
  }

  /** The next call of `op` fails with `kind`, before touching any state. */
  failNext(op: Op, kind: EtcdAdminErrorKind): void {
    this.injected.set(op, [...(this.injected.get(op) ?? []), kind]);
  }

  // --- EtcdAdmin ------------------------------------------------------------------------------

  /** A serializable list is a member's own copy: it needs no quorum, only a running member. */
  memberList(options: { linearizable?: boolean; endpoint?: string } = {}): Promise<MemberList> {
    return this.run('memberList', () => {
      if (options.endpoint !== undefined && !this.endpoints.includes(options.endpoint)) throw this.error('memberList', 'Unavailable', options.endpoint);
      if (options.linearizable ?? true) this.requireQuorum('memberList');
      return { clusterId: this.clusterId, reportedBy: this.leaderId, members: this.snapshot() };
    });
  }

  memberAddLearner(peerURLs: string[]): Promise<MemberAdded> {
    return this.run('memberAddLearner', () => this.add('memberAddLearner', peerURLs, true));
  }

  memberPromote(id: string): Promise<EtcdMember[]> {
    return this.run('memberPromote', () => {
      const m = this.existing('memberPromote', id);
      if (!m.isLearner) throw this.error('memberPromote', 'MemberNotLearner');
      if (!m.running || !m.caughtUp) throw this.error('memberPromote', 'LearnerNotReady');
      m.isLearner = false;
      return this.changed();
    });
  }

  memberRemove(id: string): Promise<EtcdMember[]> {
    return this.run('memberRemove', () => {
      const m = this.existing('memberRemove', id);
      const voters = this.voters();
      // As etcd: a learner or a member that is down may go; otherwise the rest must keep quorum.
      const active = this.runningVoters().length;
      if (!m.isLearner && m.running && active - 1 < Math.floor(voters.length / 2) + 1) throw this.error('memberRemove', 'UnhealthyCluster');
      this.members.delete(id);
      if (id === this.leaderId) this.leaderId = this.runningVoters()[0]?.id ?? '0';
      return this.changed();
    });
  }

  async status(endpoint: string): Promise<EndpointStatus> {
    return this.run('status', () => {
      const m = [...this.members.values()].find((x) => x.running && x.clientURLs.includes(endpoint));
      if (!m) throw this.error('status', 'Unavailable', endpoint);
      const applied = m.caughtUp ? this.raftIndex : 1n;
      return {
        endpoint, clusterId: this.clusterId, memberId: m.id, leaderId: this.leaderId,
        raftIndex: applied, raftAppliedIndex: applied, raftTerm: 2n,
        dbSize: 20480, dbSizeInUse: 16384, version: '3.6.16', isLearner: m.isLearner, errors: [],
      };
    });
  }

  statusAll(): Promise<EndpointProbe[]> {
    return Promise.all(
      this.endpoints.map((endpoint) =>
        this.status(endpoint).then(
          (status) => ({ endpoint, status }),
          (error: EtcdAdminError) => ({ endpoint, error }),
        ),
      ),
    );
  }

  versions(endpoint: string): Promise<MemberVersions> {
    return this.run('versions', () => {
      if (![...this.members.values()].some((x) => x.running && x.clientURLs.includes(endpoint))) throw this.error('versions', 'Unavailable', endpoint);
      return { server: '3.6.16', cluster: this.clusterVersion, storage: this.clusterVersion, ...(this.downgradeTarget ? { downgradeTarget: this.downgradeTarget } : {}) };
    });
  }

  /** As etcd 3.6.16: one minor down only, enable once; a cancel with nothing enabled succeeds too. */
  downgrade(action: DowngradeAction, version: string): Promise<string> {
    return this.run('downgrade', () => {
      const [major, minor] = this.clusterVersion.split('.').map(Number) as [number, number];
      const target = `${version}.0`;
      if (action === 'cancel') {
        this.downgradeTarget = undefined;
        this.clusterVersion = '3.6.0';
        return this.clusterVersion;
      }
      if (this.downgradeTarget || target !== `${major}.${minor - 1}.0`) throw this.error('downgrade', 'InvalidArgument');
      if (action === 'enable') this.downgradeTarget = target;
      const reported = this.clusterVersion;
      if (action === 'enable') this.clusterVersion = target;
      return reported;
    });
  }

  moveLeader(targetId: string): Promise<LeaderMove> {
    return this.run('moveLeader', () => {
      const target = this.members.get(targetId);
      if (!target || target.isLearner) throw this.error('moveLeader', 'BadLeaderTransferee');
      if (!target.running) throw this.error('moveLeader', 'DeadlineExceeded');
      const move = { fromId: this.leaderId, toId: targetId };
      this.leaderId = targetId;
      return move;
    });
  }

  close(): void {
    this.closed = true;
  }

  // --- internals ------------------------------------------------------------------------------

  private add(op: Op, peerURLs: string[], isLearner: boolean): MemberAdded {
    const all = [...this.members.values()];
    if (all.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))) throw this.error(op, 'MemberExists');
    if (isLearner && all.filter((m) => m.isLearner).length >= this.maxLearners) throw this.error(op, 'TooManyLearners');
    if (this.runningVoters().length < this.voters().length) throw this.error(op, 'UnhealthyCluster');
    const id = this.newId();
    this.members.set(id, { id, name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner, running: false, caughtUp: false });
    return { clusterId: this.clusterId, member: this.copy(this.members.get(id)!), members: this.changed() };
  }

  private async run<T>(op: Op, fn: () => T): Promise<T> {
    await Promise.resolve();
    if (this.closed) throw new Error('etcd admin client is closed');
    const queue = this.injected.get(op);
    const kind = queue?.shift();
    if (kind) throw this.error(op, kind);
    return fn();
  }

  private requireQuorum(op: string): void {
    if (this.runningVoters().length < Math.floor(this.voters().length / 2) + 1) throw this.error(op, 'Unavailable');
  }

  private voters(): FakeMemberState[] {
    return [...this.members.values()].filter((m) => !m.isLearner);
  }

  private runningVoters(): FakeMemberState[] {
    return this.voters().filter((m) => m.running);
  }

  private existing(op: string, id: string): FakeMemberState {
    const m = this.members.get(id);
    if (!m) throw this.error(op, 'MemberNotFound');
    return m;
  }

  private member(id: string, what: string): FakeMemberState {
    const m = this.members.get(id);
    if (!m) throw new Error(`fake etcd ${what}: no member ${id}`);
    return m;
  }

  private changed(): EtcdMember[] {
    this.raftIndex += 1n;
    return this.snapshot();
  }

  private snapshot(): EtcdMember[] {
    return [...this.members.values()].map((m) => this.copy(m));
  }

  private copy(m: FakeMemberState): EtcdMember {
    return { id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs], isLearner: m.isLearner };
  }

  private newId(): string {
    const id = this.nextId.toString();
    this.nextId += 7919n;
    return id;
  }

  private error(op: string, kind: EtcdAdminErrorKind, endpoint?: string): EtcdAdminError {
    return new EtcdAdminError({ kind, op, endpoint, detail: 'fake etcd', mutating: changes.has(op) });
  }
}
