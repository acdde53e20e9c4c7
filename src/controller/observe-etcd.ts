import type { Logger } from 'winston';
import type { EtcdAdmin } from '../etcd/types.js';
import type { CertificateRefusal, EtcdAdminError } from '../etcd/errors.js';
import type { EndpointProbe, EndpointStatus, EtcdMember, MemberList } from '../etcd/types.js';
import { quorumLost, voterHealth } from '../etcd/quorum.js';
import { type ClusterRef, memberOrdinal } from '../resources/names.js';
import type { MemberEndpoint } from './observe-kube.js';

/** One member as this pass saw it: etcd's record joined with the member's own status. */
export interface MemberView {
  id: string;
  name: string;
  ordinal: number | undefined;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  started: boolean;
  status: EndpointStatus | undefined;
  /** Answered Status with a leader and without alarms. */
  healthy: boolean;
  isLeader: boolean;
  /** Why the member counts as unhealthy, for status and logs. */
  problem: string | undefined;
  /**
   * The handshake with the member failed on a certificate (its own, or the operator's that it
   * refused): unhealthy for every change, but not known to be down (see quorum-report.ts).
   */
  certificate?: CertificateRefusal;
  /**
   * Its pod's start guard holds it and said so itself (start-guard.ts): the volume is empty but
   * this member already ran, so it must be replaced.
   */
  heldByGuard?: boolean;
}

export interface EtcdView {
  clusterId: string;
  members: MemberView[];
  leaderId: string | undefined;
  /**
   * The member list was read through raft (linearizable), which a member serves only with a
   * quorum behind it. False: the list is one member's own copy, read because no member could
   * serve a linearizable read; every member then counts as unhealthy, and nothing durable
   * (membership record, volume records, cluster ID) may be written from it.
   */
  quorumConfirmed: boolean;
  /** The cluster ID (decimal) each endpoint that answered Status reported, by endpoint URL. */
  endpointClusterIds?: Record<string, string>;
}

/**
 * The ordinal of a member: from its name once started, else from the first DNS label of its peer
 * URL (`<cluster>-<n>.<peer-service>...`). The cluster domain does not matter.
 */
export function ordinalOf(ref: ClusterRef, member: Pick<EtcdMember, 'name' | 'peerURLs'>): number | undefined {
  if (member.name) return memberOrdinal(ref, member.name);
  const url = member.peerURLs[0];
  if (!url) return undefined;
  try {
    return memberOrdinal(ref, new URL(url).hostname.split('.')[0] ?? '');
  } catch {
    return undefined;
  }
}

/** A learner is ready for promotion once it has applied 90% of the leader's log, as etcd requires. */
export function caughtUp(learner: EndpointStatus | undefined, leader: EndpointStatus | undefined): boolean {
  if (!learner || !leader) return false;
  return learner.raftAppliedIndex * 10n >= leader.raftIndex * 9n;
}

/** The first call that succeeds, or undefined when every one fails. */
async function firstAnswer<T>(calls: Promise<T>[]): Promise<T | undefined> {
  return calls.length === 0 ? undefined : Promise.any(calls).catch(() => undefined);
}

/** The serializable member list of the member that applied the most, which lags the least. */
async function localMemberList(admin: EtcdAdmin, answering: EndpointStatus[]): Promise<MemberList> {
  const byApplied = [...answering].sort((a, b) => (b.raftAppliedIndex > a.raftAppliedIndex ? 1 : b.raftAppliedIndex < a.raftAppliedIndex ? -1 : 0));
  let last: unknown;
  for (const s of byApplied) {
    try {
      return await admin.memberList({ linearizable: false, endpoint: s.endpoint });
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new Error('no member answered the member list');
}

/**
 * A NOSPACE alarm is cluster-wide (every member lists it in its Status) and leaves the quorum
 * intact: deletes, reads and membership changes still commit. It is reported and cleared by
 * src/upkeep, so it does not make members unhealthy (which would read as a lost quorum).
 */
const noSpaceAlarm = /^memberID:\d+ alarm:NOSPACE\s*$/;

/**
 * The member answered its own Status without an alarm (NOSPACE aside): its process is up and
 * serving, whether or not it has a leader or a quorum behind it this pass.
 */
export function answersForItself(m: Pick<MemberView, 'status'>): boolean {
  return !!m.status && m.status.errors.every((e) => noSpaceAlarm.test(e));
}

/** What a refused handshake says about a member, in the words status uses ("main-1: serves ..."). */
export function describeRefusal(c: CertificateRefusal): string {
  const unknown = 'its health cannot be checked';
  switch (c.fault) {
    case 'expired':
      return `serves a certificate that has expired: ${unknown}`;
    case 'notYetValid':
      return `serves a certificate that is not valid yet: ${unknown}`;
    case 'untrusted':
      return `serves a certificate that was not signed by the cluster's CA (${c.words}): ${unknown}`;
    case 'wrongName':
      return `serves a certificate that does not name the member's address: ${unknown}`;
    case 'unusable':
      return `serves a certificate the operator cannot accept (${c.words}): ${unknown}`;
    case 'clientRefused':
      return `refused the operator's client certificate (TLS alert: ${c.words}): ${unknown}`;
  }
}

function problemOf(m: EtcdMember, status: EndpointStatus | undefined, quorumConfirmed: boolean, error?: EtcdAdminError): string | undefined {
  if (!m.name) return 'not started';
  if (!status && error?.certificate) return describeRefusal(error.certificate);
  // The kind only: the message carries timings and addresses that would change the status every pass.
  if (!status) return error ? `not answering (${error.kind})` : 'not answering';
  const errors = status.errors.filter((e) => !noSpaceAlarm.test(e));
  if (errors.length > 0) return errors.join('; ');
  if (status.leaderId === '0') return 'no leader';
  return quorumConfirmed ? undefined : 'no quorum';
}

/**
 * The error a member's endpoint gave, matched by URL or, for an endpoint reached by pod IP, by the
 * DNS name its certificate is checked against, which is the host the member advertises.
 */
function errorOf(m: EtcdMember, probes: EndpointProbe[], endpoints: MemberEndpoint[]): EtcdAdminError | undefined {
  const hosts = new Set(m.clientURLs.flatMap((u) => (URL.canParse(u) ? [new URL(u).hostname] : [])));
  const serverName = new Map(endpoints.map((e) => [e.url, e.serverName]));
  const probe = probes.find((p) => m.clientURLs.includes(p.endpoint) || hosts.has(serverName.get(p.endpoint) ?? ''));
  return probe && 'error' in probe ? probe.error : undefined;
}

/**
 * The member list, and whether a quorum served it (see observeEtcd). A member whose certificate
 * was refused may well be healthy: counted so here, a quorum it could complete is asked for.
 */
async function readMemberList(admin: EtcdAdmin, statuses: Map<string, EndpointStatus>, refused: (m: EtcdMember) => boolean): Promise<{ list: MemberList; quorumConfirmed: boolean }> {
  const answering = [...statuses.values()];
  const local = await localMemberList(admin, answering);
  const byStatus = voterHealth(local.members.map((m) => ({ isLearner: m.isLearner, healthy: refused(m) || problemOf(m, statuses.get(m.id), true) === undefined })));
  if (quorumLost(byStatus)) return { list: local, quorumConfirmed: false };
  const confirmed = await firstAnswer(answering.map((s) => admin.memberList({ endpoint: s.endpoint })));
  return { list: confirmed ?? local, quorumConfirmed: confirmed !== undefined };
}

/**
 * Reads every reachable member's Status (each member answers for itself, without quorum) and the
 * member list as the most advanced member holds it (a serializable read, also without quorum).
 * When those statuses already show fewer healthy voters than a quorum, that is the answer:
 * waiting out a linearizable read's deadline would only delay saying so. Otherwise the list is
 * read linearizably, from every member that answered at once, so one answer confirms the quorum
 * and losing it costs one call deadline, not one per endpoint. Throws when no member answers.
 * A member that does not answer is reported with the kind of its last error (`endpoints` tell
 * which endpoint is which member); one known to hang was not waited on (see EndpointMemory).
 */
export async function observeEtcd(admin: EtcdAdmin, ref: ClusterRef, endpoints: MemberEndpoint[] = []): Promise<EtcdView> {
  const probes = await admin.statusAll();
  const statuses = new Map<string, EndpointStatus>();
  for (const p of probes) if ('status' in p) statuses.set(p.status.memberId, p.status);
  const answering = [...statuses.values()];
  if (answering.length === 0) throw new NoMemberAnswered(probes, endpoints);
  const refused = (m: EtcdMember) => !statuses.has(m.id) && errorOf(m, probes, endpoints)?.certificate !== undefined;
  const { list, quorumConfirmed } = await readMemberList(admin, statuses, refused);
  // Members agree on the leader except briefly during an election; take the most reported one.
  // Without quorum a reported leader cannot lead: none is reported.
  const votes = new Map<string, number>();
  for (const s of answering) if (s.leaderId !== '0') votes.set(s.leaderId, (votes.get(s.leaderId) ?? 0) + 1);
  const leaderId = quorumConfirmed ? [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] : undefined;
  const members = list.members.map((m): MemberView => {
    const status = statuses.get(m.id);
    const error = status ? undefined : errorOf(m, probes, endpoints);
    const problem = problemOf(m, status, quorumConfirmed, error);
    return {
      id: m.id,
      name: m.name,
      ordinal: ordinalOf(ref, m),
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs,
      isLearner: m.isLearner,
      started: m.name !== '',
      status,
      healthy: problem === undefined,
      isLeader: m.id === leaderId,
      problem,
      ...(m.name && error?.certificate ? { certificate: error.certificate } : {}),
    };
  });
  const endpointClusterIds = Object.fromEntries(probes.flatMap((p) => ('status' in p ? [[p.endpoint, p.status.clusterId]] : [])));
  return { clusterId: list.clusterId, members, leaderId, quorumConfirmed, endpointClusterIds };
}

/** An endpoint whose handshake failed on a certificate, named by the host its certificate must carry. */
export interface RefusedEndpoint {
  endpoint: string;
  host: string;
  certificate: CertificateRefusal;
}

/** No member answered Status; `refused` are those whose handshake failed on a certificate. */
export class NoMemberAnswered extends Error {
  readonly refused: RefusedEndpoint[];

  constructor(probes: EndpointProbe[], endpoints: MemberEndpoint[]) {
    super(`no member answered Status (${probes.length} endpoints asked)`);
    this.name = 'NoMemberAnswered';
    const serverName = new Map(endpoints.map((e) => [e.url, e.serverName]));
    this.refused = probes.flatMap((p) => {
      const certificate = 'error' in p ? p.error.certificate : undefined;
      const host = serverName.get(p.endpoint) ?? (URL.canParse(p.endpoint) ? new URL(p.endpoint).hostname : p.endpoint);
      return certificate ? [{ endpoint: p.endpoint, host, certificate }] : [];
    });
  }
}

/**
 * observeEtcd for a pass: no member answering is not an error but no view, with the endpoints
 * whose handshake then failed on a certificate.
 */
export async function observeEtcdOrNone(admin: EtcdAdmin, ref: ClusterRef, endpoints: MemberEndpoint[], log: Pick<Logger, 'debug'>): Promise<{ etcd?: EtcdView; refused: RefusedEndpoint[] }> {
  try {
    return { etcd: await observeEtcd(admin, ref, endpoints), refused: [] };
  } catch (err) {
    log.debug('etcd did not answer', { error: err instanceof Error ? err.message : String(err) });
    return { refused: err instanceof NoMemberAnswered ? err.refused : [] };
  }
}
