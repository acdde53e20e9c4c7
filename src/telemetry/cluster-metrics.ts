/**
 * Per-cluster health metrics, recorded from what a reconcile pass already observed (the member
 * list, each member's Status, the certificate Secrets in the cache): no extra calls to etcd.
 * Series of a deleted cluster or a removed member are removed, so dashboards show no ghosts.
 */
import type { V1Secret } from '@kubernetes/client-node';
import client from 'prom-client';
import type { EtcdCluster } from '../api/types.generated.js';
import type { EtcdView, MemberView, RefusedEndpoint } from '../controller/observe-etcd.js';
import { conditionReasons } from '../api/conditions.js';
import { availability } from '../controller/quorum-report.js';
import { quorumMargin, voterHealth } from '../etcd/quorum.js';
import { parseCertificate, secretKeys, secretText } from '../pki/inspect.js';
import { type ClusterRef, names } from '../resources/names.js';

/** etcd's backend quota when `quota-backend-bytes` is unset or 0. */
export const defaultQuotaBytes = 2 * 1024 ** 3;

export const certificateKinds = ['server', 'peer', 'operator-client', 'user-client', 'ca'] as const;
export type CertificateKind = (typeof certificateKinds)[number];

/** Everything one pass saw that the metrics report. */
export interface ClusterSnapshot {
  ref: ClusterRef;
  desiredMembers: number;
  /** undefined when etcd runs without a quota (a negative `quota-backend-bytes`). */
  quotaBytes: number | undefined;
  /** undefined when no member answered this pass. */
  etcd: EtcdView | undefined;
  /** The cluster once had a quorum (a cluster ID is latched): losing it now is an outage, not a bootstrap. */
  formed: boolean;
  /** The cluster formed and has lost its quorum, as its Available condition says (QuorumLost). */
  quorumLost: boolean;
  /** notAfter of each certificate whose Secret exists and parses. */
  certificates: Partial<Record<CertificateKind, Date>>;
}

/** A member whose health differs from the previous pass: logged once, by the reconciler. */
export interface HealthTransition {
  member: string;
  healthy: boolean;
  problem: string | undefined;
}

/** The quota etcd enforces for this cluster, from spec.options as etcd reads the flag. */
export function quotaBytesOf(cluster: EtcdCluster): number | undefined {
  const raw = cluster.spec.options?.['quota-backend-bytes'];
  const value = raw === undefined ? 0 : Number(raw);
  if (!Number.isFinite(value) || value === 0) return defaultQuotaBytes;
  return value < 0 ? undefined : value;
}

const leafSecrets: Record<Exclude<CertificateKind, 'ca'>, (c: ClusterRef) => string> = {
  server: names.serverSecret,
  peer: names.peerSecret,
  'operator-client': names.operatorClientSecret,
  'user-client': names.userClientSecret,
};

function pemBlocks(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * notAfter of the leaf certificates and of the CA that signed the server certificate. The CA is
 * found in the server Secret's trust bundle rather than in the CA Secret, because a user's CA
 * Secret is not in the cache; during a rotation the bundle holds two CAs and only the signer counts.
 * Only public certificates are read; keys are never touched.
 */
export function certificateExpiries(secret: (name: string) => V1Secret | undefined, ref: ClusterRef): Partial<Record<CertificateKind, Date>> {
  const out: Partial<Record<CertificateKind, Date>> = {};
  const certOf = (s: V1Secret | undefined) => {
    const pem = s && secretText(s, secretKeys.cert);
    return pem ? parseCertificate(pem) : undefined;
  };
  for (const [kind, name] of Object.entries(leafSecrets) as [CertificateKind, (c: ClusterRef) => string][]) {
    const cert = certOf(secret(name(ref)));
    if (cert) out[kind] = new Date(cert.validTo);
  }
  const serverSecret = secret(names.serverSecret(ref));
  const server = certOf(serverSecret);
  const bundle = serverSecret && secretText(serverSecret, secretKeys.ca);
  const cas = pemBlocks(bundle ?? '').map(parseCertificate).filter((c) => c !== undefined);
  const signer = cas.find((ca) => server?.checkIssued(ca)) ?? cas[0];
  if (signer) out.ca = new Date(signer.validTo);
  return out;
}

export function snapshotOf(cluster: EtcdCluster, ref: ClusterRef, etcd: EtcdView | undefined, secret: (name: string) => V1Secret | undefined, now: Date = new Date(), refused: readonly RefusedEndpoint[] = []): ClusterSnapshot {
  const formed = (cluster.status?.clusterID ?? '') !== '';
  // The status's own judgement: an election among members that answer, or members whose
  // certificates cannot be verified, is not a lost quorum.
  const lost = availability(etcd, undefined, cluster.status?.conditions, now, refused).reason === conditionReasons.quorumLost;
  return { ref, desiredMembers: cluster.spec.replicas, quotaBytes: quotaBytesOf(cluster), etcd, formed, quorumLost: formed && lost, certificates: certificateExpiries(secret, ref) };
}

/** The label of a member: its name, or the pod it will run in when it has not started yet. */
function memberLabel(ref: ClusterRef, m: MemberView): string {
  return m.name || (m.ordinal !== undefined ? names.member(ref, m.ordinal) : BigInt(m.id).toString(16));
}

/** What the recorder remembers of a cluster between passes. */
interface Known {
  /** Member label to its health in the last pass. */
  health: Map<string, boolean>;
  /** The highest raft term seen: elections are counted by its increase. */
  term: bigint | undefined;
  voters: number;
  certificates: Partial<Record<CertificateKind, Date>>;
}

type ClusterLabels = { namespace: string; cluster: string };
type MemberLabels = ClusterLabels & { member: string };

export class ClusterMetrics {
  private readonly known = new Map<string, Known>();
  private readonly g;
  private readonly leaderChanges;

  /** `now` (ms) is read at scrape time for the certificate countdowns. */
  constructor(registry: client.Registry = new client.Registry(), private readonly now: () => number = Date.now) {
    const gauge = (name: string, help: string, labelNames: string[]) => new client.Gauge({ name, help, labelNames, registers: [registry] });
    const c = ['namespace', 'cluster'];
    const m = [...c, 'member'];
    this.g = {
      desired: gauge('etcd_operator_cluster_desired_members', 'Members the EtcdCluster spec asks for (spec.replicas)', c),
      members: gauge('etcd_operator_cluster_members', 'Members in etcd\'s member list, learners included, as last seen', c),
      ready: gauge('etcd_operator_cluster_ready_members', 'Members that answered Status with a leader and no alarm in the last pass', c),
      learners: gauge('etcd_operator_cluster_learner_members', 'Learners (non-voting members) in etcd\'s member list, as last seen', c),
      hasLeader: gauge('etcd_operator_cluster_has_leader', '1 when the members report a leader, 0 otherwise (no member answering included)', c),
      margin: gauge('etcd_operator_cluster_quorum_margin', 'Healthy voters minus quorum: how many more voters may fail before quorum is lost (negative: lost)', c),
      quorumLost: gauge('etcd_operator_cluster_quorum_lost', '1 when a cluster that once formed has lost its quorum (Available=False/QuorumLost): fewer voters answer than a quorum, none answers, or those that answer have had no leader for 30 s. It serves nothing and the operator changes nothing', c),
      quota: gauge('etcd_operator_cluster_db_quota_bytes', 'The backend quota etcd enforces (quota-backend-bytes, 2 GiB by default)', c),
      lastSuccess: gauge('etcd_operator_cluster_last_reconcile_success_timestamp_seconds', 'Unix time of the last reconcile pass that completed without error', c),
      healthy: gauge('etcd_operator_member_healthy', '1 when the member answered Status with a leader and no alarm, 0 otherwise', m),
      leader: gauge('etcd_operator_member_is_leader', '1 for the member the cluster reports as leader', m),
      learner: gauge('etcd_operator_member_is_learner', '1 when the member is a learner (not voting)', m),
      dbSize: gauge('etcd_operator_member_db_size_bytes', 'Size of the member\'s backend database file, as last reported', m),
      dbInUse: gauge('etcd_operator_member_db_size_in_use_bytes', 'Bytes of the member\'s backend database in use (the rest is free pages until defragmentation)', m),
      quotaFraction: gauge('etcd_operator_member_db_quota_fraction', 'Database size divided by the quota; etcd raises NOSPACE and refuses writes at 1', m),
    };
    this.leaderChanges = new client.Counter({ name: 'etcd_operator_cluster_leader_changes_total', help: 'Leader elections in the cluster: the increase of the raft term its members report, counted between passes (each election begins a term; none is missed between two passes)', labelNames: c, registers: [registry] });
    const known = this.known;
    const clock = this.now;
    // Computed at scrape time, so the countdown is exact between passes.
    new client.Gauge({
      name: 'etcd_operator_certificate_expiry_seconds',
      help: 'Seconds until the certificate expires (negative once expired), by cluster and certificate kind',
      labelNames: ['namespace', 'cluster', 'certificate'],
      registers: [registry],
      collect(this: client.Gauge) {
        this.reset();
        for (const [key, k] of known) {
          const [namespace = '', cluster = ''] = key.split('/');
          for (const [certificate, notAfter] of Object.entries(k.certificates)) this.set({ namespace, cluster, certificate }, (notAfter.getTime() - clock()) / 1000);
        }
      },
    });
  }

  /** Records one pass's observation; returns the members whose health flipped since the last pass. */
  record(s: ClusterSnapshot): HealthTransition[] {
    const key = `${s.ref.namespace}/${s.ref.name}`;
    const labels: ClusterLabels = { namespace: s.ref.namespace, cluster: s.ref.name };
    const first = !this.known.has(key);
    const known = this.known.get(key) ?? { health: new Map(), term: undefined, voters: s.desiredMembers, certificates: {} };
    this.known.set(key, known);
    known.certificates = s.certificates;
    if (first) this.leaderChanges.inc(labels, 0);
    this.g.desired.set(labels, s.desiredMembers);
    if (s.quotaBytes === undefined) this.g.quota.remove(labels);
    else this.g.quota.set(labels, s.quotaBytes);
    this.g.quorumLost.set(labels, s.quorumLost ? 1 : 0);
    return s.etcd ? this.recordMembers(labels, known, s.etcd, s.quotaBytes) : this.recordUnreachable(labels, known);
  }

  /** The pass completed without error. */
  reconciled(ref: ClusterRef, at: Date): void {
    this.g.lastSuccess.set({ namespace: ref.namespace, cluster: ref.name }, at.getTime() / 1000);
  }

  /** The cluster is gone: every series it had disappears. */
  forget(ref: ClusterRef): void {
    const key = `${ref.namespace}/${ref.name}`;
    const known = this.known.get(key);
    const labels: ClusterLabels = { namespace: ref.namespace, cluster: ref.name };
    for (const member of known?.health.keys() ?? []) this.removeMember({ ...labels, member });
    for (const g of [this.g.desired, this.g.members, this.g.ready, this.g.learners, this.g.hasLeader, this.g.margin, this.g.quorumLost, this.g.quota, this.g.lastSuccess]) g.remove(labels);
    this.leaderChanges.remove(labels);
    this.known.delete(key);
  }

  private recordMembers(labels: ClusterLabels, known: Known, etcd: EtcdView, quotaBytes: number | undefined): HealthTransition[] {
    const voters = etcd.members.filter((m) => !m.isLearner);
    known.voters = voters.length;
    this.g.members.set(labels, etcd.members.length);
    this.g.learners.set(labels, etcd.members.length - voters.length);
    this.g.ready.set(labels, etcd.members.filter((m) => m.healthy).length);
    this.g.hasLeader.set(labels, etcd.leaderId !== undefined ? 1 : 0);
    const v = voterHealth(etcd.members);
    this.g.margin.set(labels, quorumMargin(v.voters, v.healthy));
    this.countElections(labels, known, etcd);
    const transitions: HealthTransition[] = [];
    const seen = new Map<string, boolean>();
    for (const m of etcd.members) {
      const member = memberLabel({ namespace: labels.namespace, name: labels.cluster }, m);
      const ml: MemberLabels = { ...labels, member };
      seen.set(member, m.healthy);
      const before = known.health.get(member);
      if (before !== undefined && before !== m.healthy) transitions.push({ member, healthy: m.healthy, problem: m.problem });
      this.g.healthy.set(ml, m.healthy ? 1 : 0);
      this.g.leader.set(ml, m.isLeader ? 1 : 0);
      this.g.learner.set(ml, m.isLearner ? 1 : 0);
      // A member that did not answer keeps its last reported sizes: the file has not shrunk.
      if (m.status) {
        this.g.dbSize.set(ml, m.status.dbSize);
        this.g.dbInUse.set(ml, m.status.dbSizeInUse);
        if (quotaBytes !== undefined) this.g.quotaFraction.set(ml, m.status.dbSize / quotaBytes);
        else this.g.quotaFraction.remove(ml);
      }
    }
    for (const member of known.health.keys()) if (!seen.has(member)) this.removeMember({ ...labels, member });
    known.health = seen;
    return transitions;
  }

  /**
   * Every election begins a raft term, and the members keep the term between passes: its increase
   * counts the elections however far apart two passes are (a leader ID compared between passes
   * missed A -> B -> A and a leader elected again, more often the longer the refresh). The highest
   * term a member reports; a lower one is a cluster made anew (a restore) and only sets the base.
   */
  private countElections(labels: ClusterLabels, known: Known, etcd: EtcdView): void {
    const terms = etcd.members.flatMap((m) => (m.status ? [m.status.raftTerm] : []));
    if (terms.length === 0) return;
    const term = terms.reduce((a, b) => (a > b ? a : b));
    if (known.term !== undefined && term > known.term) this.leaderChanges.inc(labels, Number(term - known.term));
    known.term = term;
  }

  /** No member answered: nobody is healthy and there is no leader; the member list is unknown. */
  private recordUnreachable(labels: ClusterLabels, known: Known): HealthTransition[] {
    this.g.ready.set(labels, 0);
    this.g.hasLeader.set(labels, 0);
    this.g.margin.set(labels, quorumMargin(known.voters, 0));
    const transitions: HealthTransition[] = [];
    for (const [member, healthy] of known.health) {
      if (healthy) transitions.push({ member, healthy: false, problem: 'no member answered' });
      known.health.set(member, false);
      this.g.healthy.set({ ...labels, member }, 0);
      this.g.leader.set({ ...labels, member }, 0);
    }
    return transitions;
  }

  private removeMember(ml: MemberLabels): void {
    for (const g of [this.g.healthy, this.g.leader, this.g.learner, this.g.dbSize, this.g.dbInUse, this.g.quotaFraction]) g.remove(ml);
  }
}
