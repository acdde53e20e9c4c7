import { EndpointMemory, probeAll } from '../../../src/etcd/endpoint-memory.js';
import { type CertificateRefusal, EtcdAdminError, type EtcdAdminErrorKind } from '../../../src/etcd/errors.js';
import type { DowngradeAction, EndpointProbe, EndpointStatus, EtcdAdmin, EtcdAlarm, EtcdMember, LeaderMove, MemberAdded, MemberHash, MemberList, MemberVersions } from '../../../src/etcd/types.js';

/** A member of the fake cluster plus the process state real etcd would have. */
export interface FakeMemberState extends EtcdMember {
  /** Its process runs; false for a member added but not started, or one marked down. */
  running: boolean;
  /** A learner whose log is close enough to the leader's to be promoted. */
  caughtUp: boolean;
  /** Its process runs but answers nothing (SIGSTOP): a call to it runs out its deadline. */
  hung: boolean;
}

type Op = 'memberList' | 'memberAddLearner' | 'memberPromote' | 'memberRemove' | 'status' | 'moveLeader' | 'alarmList' | 'alarmDisarm' | 'currentRevision' | 'compact' | 'defragment' | 'hashKV' | 'versions' | 'downgrade';

const changes: ReadonlySet<string> = new Set(['memberAddLearner', 'memberPromote', 'memberRemove', 'moveLeader', 'alarmDisarm', 'compact', 'defragment', 'downgrade']);

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
  /** The per-member deadline a call to a hung member waits out, in real milliseconds. */
  memberTimeoutMs = 50;
  /** How many calls waited out `memberTimeoutMs` on a hung member. */
  deadlinesWaited = 0;
  /** As the real client's: what it learned of hung members, kept across passes. */
  readonly memory: EndpointMemory;
  /** etcd 3.6 members: the cluster version, lowered by an enabled downgrade (storage follows at once here). */
  clusterVersion = '3.6.0';
  downgradeTarget: string | undefined;
  private readonly members = new Map<string, FakeMemberState>();
  private readonly injected = new Map<Op, EtcdAdminErrorKind[]>();
  private nextId = 10276657743932975437n;
  private raftIndex = 100n;
  /** Raised alarms, as etcd keeps them (cluster-wide). */
  alarms: EtcdAlarm[] = [];
  revision = 1000n;
  compactRevision = 0n;
  /** Database file size and bytes in use, by member ID (default 20480 / 16384). */
  readonly sizes = new Map<string, { dbSize: number; inUse: number }>();
  /** A member's HashKV differs from the others' (a diverged copy). */
  readonly divergent = new Set<string>();
  /** Members defragmented, in order. */
  readonly defragmented: string[] = [];
  /**
   * Members whose handshake with the operator fails on a certificate (theirs, or the operator's
   * they refuse): they run and vote with their peers, and answer the operator nothing.
   */
  readonly refusing = new Map<string, CertificateRefusal>();

  /** Starts with running, caught-up voters; the first one leads. */
  constructor(voters: { name: string; peerURL: string; clientURL: string }[], memory = new EndpointMemory()) {
    this.memory = memory;
    for (const v of voters) {
      const id = this.newId();
      this.members.set(id, { id, name: v.name, peerURLs: [v.peerURL], clientURLs: [v.clientURL], isLearner: false, running: true, caughtUp: true, hung: false });
    }
    this.leaderId = [...this.members.keys()][0] ?? '0';
  }

  get endpoints(): readonly string[] {
    return [...this.members.values()].filter((m) => m.running).flatMap((m) => m.clientURLs);
  }

  // --- test controls --------------------------------------------------------------------------

  /** Every member with its process state, for tests that play the kubelet's part. */
  view(): readonly Readonly<FakeMemberState>[] {
    return [...this.members.values()].map((m) => ({ ...m, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs] }));
  }

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

  /** Its process is stopped (true) or continued (false): it still accepts connections, answers nothing. */
  setHung(id: string, hung = true): void {
    this.member(id, 'setHung').hung = hung;
    if (hung && id === this.leaderId) this.leaderId = this.runningVoters()[0]?.id ?? '0';
  }

  /** The next call of `op` fails with `kind`, before touching any state. */
  failNext(op: Op, kind: EtcdAdminErrorKind): void {
    this.injected.set(op, [...(this.injected.get(op) ?? []), kind]);
  }

  // --- EtcdAdmin ------------------------------------------------------------------------------

  /** A serializable list is a member's own copy: it needs no quorum, only a running member. */
  memberList(options: { linearizable?: boolean; endpoint?: string } = {}): Promise<MemberList> {
    return this.run('memberList', async () => {
      if (options.endpoint !== undefined && !this.endpoints.includes(options.endpoint)) throw this.error('memberList', 'Unavailable', options.endpoint);
      if (options.endpoint !== undefined) this.refuseIfRefusing('memberList', options.endpoint);
      if (options.endpoint !== undefined) await this.hangIfHung('memberList', options.endpoint);
      if (options.linearizable ?? true) this.requireQuorum('memberList');
      return { clusterId: this.clusterId, reportedBy: this.leaderId, members: this.snapshot() };
    });
  }

  async memberAddLearner(peerURLs: string[]): Promise<MemberAdded> {
    await this.findLeader();
    return this.run('memberAddLearner', () => this.add('memberAddLearner', peerURLs, true));
  }

  async memberPromote(id: string): Promise<EtcdMember[]> {
    await this.findLeader();
    return this.run('memberPromote', () => {
      const m = this.existing('memberPromote', id);
      if (!m.isLearner) throw this.error('memberPromote', 'MemberNotLearner');
      if (!m.running || !m.caughtUp) throw this.error('memberPromote', 'LearnerNotReady');
      m.isLearner = false;
      return this.changed();
    });
  }

  async memberRemove(id: string): Promise<EtcdMember[]> {
    await this.findLeader();
    return this.run('memberRemove', () => {
      const m = this.existing('memberRemove', id);
      // As etcd (IsReadyToRemoveVotingMember): the voters left must have a quorum of their own
      // started; a learner may always go. Removing one of two leaves one, its own quorum.
      const others = this.voters().filter((v) => v.id !== id);
      const started = others.filter((v) => v.running && !v.hung).length;
      if (!m.isLearner && started < Math.floor(others.length / 2) + 1) throw this.error('memberRemove', 'UnhealthyCluster');
      this.members.delete(id);
      if (id === this.leaderId) this.leaderId = this.runningVoters()[0]?.id ?? '0';
      return this.changed();
    });
  }

  /** Recorded in `memory` as the real client's Status is. */
  async status(endpoint: string): Promise<EndpointStatus> {
    return this.memory.track(endpoint, () => this.run('status', async () => {
      const m = [...this.members.values()].find((x) => x.running && x.clientURLs.includes(endpoint));
      if (!m) throw this.error('status', 'Unavailable', endpoint);
      this.refuseIfRefusing('status', endpoint);
      await this.hangIfHung('status', endpoint);
      const applied = m.caughtUp ? this.raftIndex : 1n;
      return {
        endpoint, clusterId: this.clusterId, memberId: m.id, leaderId: this.leaderId,
        raftIndex: applied, raftAppliedIndex: applied, raftTerm: 2n,
        dbSize: this.size(m.id).dbSize, dbSizeInUse: this.size(m.id).inUse, version: '3.6.16', isLearner: m.isLearner,
        errors: this.alarms.map((a) => `memberID:${a.memberId} alarm:${a.alarm} `),
      };
    }));
  }

  statusAll(): Promise<EndpointProbe[]> {
    return probeAll(this.endpoints, this.memory, (endpoint) => this.status(endpoint));
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

  async moveLeader(targetId: string): Promise<LeaderMove> {
    await this.findLeader();
    return this.run('moveLeader', () => {
      const target = this.members.get(targetId);
      if (!target || target.isLearner) throw this.error('moveLeader', 'BadLeaderTransferee');
      if (!target.running) throw this.error('moveLeader', 'DeadlineExceeded');
      const move = { fromId: this.leaderId, toId: targetId };
      this.leaderId = targetId;
      return move;
    });
  }

  alarmList(): Promise<EtcdAlarm[]> {
    return this.run('alarmList', () => {
      this.requireQuorum('alarmList');
      return this.alarms.map((a) => ({ ...a }));
    });
  }

  alarmDisarm(alarm: EtcdAlarm): Promise<void> {
    return this.run('alarmDisarm', () => {
      this.requireQuorum('alarmDisarm');
      this.alarms = this.alarms.filter((a) => a.memberId !== alarm.memberId || a.alarm !== alarm.alarm);
    });
  }

  currentRevision(): Promise<bigint> {
    return this.run('currentRevision', () => {
      this.requireQuorum('currentRevision');
      return this.revision;
    });
  }

  /** Compaction frees the space of old revisions: a fragmented member's in-use bytes halve. */
  compact(revision: bigint): Promise<void> {
    return this.run('compact', () => {
      this.requireQuorum('compact');
      if (revision > this.revision) throw this.error('compact', 'FutureRevision');
      if (revision > this.compactRevision) this.compactRevision = revision;
    });
  }

  defragment(endpoint: string): Promise<void> {
    return this.run('defragment', () => {
      const m = this.byEndpoint(endpoint, 'defragment');
      const s = this.size(m.id);
      this.sizes.set(m.id, { dbSize: s.inUse, inUse: s.inUse });
      this.defragmented.push(m.id);
    });
  }

  hashKV(endpoint: string, revision: bigint): Promise<MemberHash> {
    return this.run('hashKV', () => {
      const m = this.byEndpoint(endpoint, 'hashKV');
      if (revision > this.revision) throw this.error('hashKV', 'FutureRevision', endpoint);
      if (revision !== 0n && revision < this.compactRevision) throw this.error('hashKV', 'Compacted', endpoint);
      const at = revision === 0n ? this.revision : revision;
      return { endpoint, memberId: m.id, revision: at, compactRevision: this.compactRevision, hash: this.divergent.has(m.id) ? '1' : String(at * 7n % 4294967296n) };
    });
  }

  close(): void {
    this.closed = true;
  }

  /** Sets a member's database file size and bytes in use. */
  setSize(id: string, dbSize: number, inUse: number): void {
    this.sizes.set(id, { dbSize, inUse });
  }

  private size(id: string): { dbSize: number; inUse: number } {
    return this.sizes.get(id) ?? { dbSize: 20480, inUse: 16384 };
  }

  private byEndpoint(endpoint: string, op: Op): FakeMemberState {
    const m = [...this.members.values()].find((x) => x.running && x.clientURLs.includes(endpoint));
    if (!m) throw this.error(op, 'Unavailable', endpoint);
    return m;
  }

  // --- internals ------------------------------------------------------------------------------

  private add(op: Op, peerURLs: string[], isLearner: boolean): MemberAdded {
    const all = [...this.members.values()];
    if (all.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))) throw this.error(op, 'MemberExists');
    if (isLearner && all.filter((m) => m.isLearner).length >= this.maxLearners) throw this.error(op, 'TooManyLearners');
    if (this.runningVoters().length < this.voters().length) throw this.error(op, 'UnhealthyCluster');
    const id = this.newId();
    this.members.set(id, { id, name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner, running: false, caughtUp: false, hung: false });
    return { clusterId: this.clusterId, member: this.copy(this.members.get(id)!), members: this.changed() };
  }

  /** As the real client, a change first asks every member's status to find the leader. */
  private async findLeader(): Promise<void> {
    await this.statusAll();
  }

  private refuseIfRefusing(op: string, endpoint: string): void {
    const m = [...this.members.values()].find((x) => x.clientURLs.includes(endpoint));
    const certificate = m && this.refusing.get(m.id);
    if (certificate) throw new EtcdAdminError({ kind: 'CertificateRefused', op, endpoint, detail: 'fake handshake', certificate });
  }

  /** A hung member answers nothing: the caller waits out the per-member deadline. */
  private async hangIfHung(op: string, endpoint: string): Promise<void> {
    const m = [...this.members.values()].find((x) => x.clientURLs.includes(endpoint));
    if (!m?.hung) return;
    this.deadlinesWaited += 1;
    await new Promise((resolve) => setTimeout(resolve, this.memberTimeoutMs));
    throw this.error(op, 'DeadlineExceeded', endpoint);
  }

  private async run<T>(op: Op, fn: () => T | Promise<T>): Promise<T> {
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

  /** A hung voter counts as down: it neither votes nor acknowledges, and etcd sees it disconnected. */
  private runningVoters(): FakeMemberState[] {
    return this.voters().filter((m) => m.running && !m.hung);
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
