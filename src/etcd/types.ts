import type { EndpointMemory } from './endpoint-memory.js';
import type { EtcdAdminError } from './errors.js';

/** PEM material for mutual TLS with etcd's client port. */
export interface EtcdTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface EtcdAdminOptions {
  /** Client URLs (`https://host:port`) the admin reads from; mutations go to the leader. */
  endpoints: string[];
  tls: EtcdTls;
  /**
   * Deadline of every gRPC call, connecting included. grpc-js has no separate dial timeout (and
   * etcd3 ignores its own `dialTimeout` option), so this one deadline bounds dialing too.
   */
  callTimeoutMs: number;
  /**
   * Deadline of calls one member answers by itself (Status, its own member list), which need no
   * quorum: a member that takes longer is treated as not answering. Default 2 s, at most
   * `callTimeoutMs`.
   */
  memberCallTimeoutMs?: number;
  /** Kept across clients of one cluster, so a member known to hang is not waited on again. */
  memory?: EndpointMemory;
  /**
   * The name to verify an endpoint's certificate against, by endpoint URL, when the URL holds an
   * address the certificate does not name (a member reached by pod IP).
   */
  serverNames?: Record<string, string>;
}

/**
 * One member as etcd reports it. `id` is etcd's uint64 in decimal: it never passes through a JS
 * number. A member added but not started yet has an empty `name` and no `clientURLs`.
 */
export interface EtcdMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberList {
  clusterId: string;
  /** The member that answered. */
  reportedBy: string;
  members: EtcdMember[];
}

export interface MemberAdded {
  clusterId: string;
  member: EtcdMember;
  /** The membership right after the add, as etcd returned it. */
  members: EtcdMember[];
}

/** What one member says about itself (Maintenance.Status). Raft counters are uint64, as bigint. */
export interface EndpointStatus {
  endpoint: string;
  clusterId: string;
  memberId: string;
  /** `'0'` when the member knows of no leader. */
  leaderId: string;
  raftIndex: bigint;
  raftAppliedIndex: bigint;
  raftTerm: bigint;
  /** The member's own key-value revision (the response header's): needs no quorum. */
  revision?: bigint;
  dbSize: number;
  dbSizeInUse: number;
  version: string;
  isLearner: boolean;
  /** Alarms and other problems the member reports. */
  errors: string[];
}

/** The outcome of probing one endpoint: a status or the error it gave. */
export type EndpointProbe = { endpoint: string; status: EndpointStatus } | { endpoint: string; error: EtcdAdminError };

/** An alarm a member raised; etcd keeps it, cluster-wide, until it is disarmed. */
export interface EtcdAlarm {
  /** The member that raised it (decimal uint64). */
  memberId: string;
  alarm: 'NOSPACE' | 'CORRUPT';
}

/** HashKV of one member: the hash of its keys from `compactRevision` up to `revision`. */
export interface MemberHash {
  endpoint: string;
  memberId: string;
  revision: bigint;
  compactRevision: bigint;
  /** uint32, as a decimal string. */
  hash: string;
}
/** What a member's `/version` says: its binary, the cluster version and its data's storage version. */
export interface MemberVersions {
  server: string;
  /** `MAJOR.MINOR.0`: the lowest minor every member speaks, or a downgrade's target once enabled. */
  cluster: string;
  /** `MAJOR.MINOR.0` of the data on its disk; absent before etcd 3.6. */
  storage?: string;
  /** `MAJOR.MINOR.0` of the downgrade etcd has enabled, if one is (etcd 3.6 and later). */
  downgradeTarget?: string;
}

/** etcd's downgrade actions (Maintenance.Downgrade). */
export type DowngradeAction = 'validate' | 'enable' | 'cancel';

export interface LeaderMove {
  fromId: string;
  toId: string;
}

/**
 * The narrow admin surface the reconciler acts through. Reads may fail over across endpoints;
 * membership changes are sent once, to the leader, and never retried here: on an error the
 * caller observes again next pass (see `EtcdAdminError.maybeApplied`).
 */
export interface EtcdAdmin {
  readonly endpoints: readonly string[];
  /**
   * Linearizable by default, so a member list never lags a change just made. With `endpoint`,
   * only that endpoint is asked (no failover): a serializable list is then that member's own copy.
   */
  memberList(options?: { linearizable?: boolean; endpoint?: string }): Promise<MemberList>;
  memberAddLearner(peerURLs: string[]): Promise<MemberAdded>;
  /** Returns the membership after the promotion. */
  memberPromote(id: string): Promise<EtcdMember[]>;
  /** Returns the membership after the removal. */
  memberRemove(id: string): Promise<EtcdMember[]>;
  /** The status of one endpoint, which need not be one of `endpoints`; no failover. */
  status(endpoint: string): Promise<EndpointStatus>;
  /** Status of every configured endpoint, in parallel; errors are returned, not thrown. */
  statusAll(): Promise<EndpointProbe[]>;
  /** Transfers leadership to `targetId`, sent to the current leader. A no-op if it leads already. */
  moveLeader(targetId: string): Promise<LeaderMove>;
  /** The alarms raised in the cluster (read with failover). */
  alarmList(): Promise<EtcdAlarm[]>;
  /** Disarms one alarm; sent once, to the leader. */
  alarmDisarm(alarm: EtcdAlarm): Promise<void>;
  /** The cluster's current revision, from a linearizable read (with failover). */
  currentRevision(): Promise<bigint>;
  /**
   * Compacts the key-value history up to `revision`; sent once, to the leader. A revision that was
   * compacted already is not an error: the outcome is the same.
   */
  compact(revision: bigint): Promise<void>;
  /** Defragments one member's backend; no failover. The member serves nothing meanwhile. */
  defragment(endpoint: string): Promise<void>;
  /** HashKV of one member at `revision` (0: its current one); no failover. */
  hashKV(endpoint: string, revision: bigint): Promise<MemberHash>;
  /** One member's versions and the downgrade it knows of (its `/version` and JSON Status); no failover. */
  versions(endpoint: string): Promise<MemberVersions>;
  /**
   * Validates, enables or cancels a downgrade of the cluster version to `version` (`MAJOR.MINOR`),
   * sent once to the leader; returns the cluster version etcd reports.
   */
  downgrade(action: DowngradeAction, version: string): Promise<string>;
  close(): void;
}
