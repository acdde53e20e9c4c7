import { describe, expect, it } from 'vitest';
import type { CertificateFault } from '../etcd/errors.js';
import type { EndpointStatus } from '../etcd/types.js';
import { sampleCluster } from '../resources/fixtures.js';
import type { MembershipStep } from './membership.js';
import { type EtcdView, type MemberView, type RefusedEndpoint, describeRefusal } from './observe-etcd.js';
import { quorumLossEvent, recoveryQuorum } from './quorum-report.js';
import { computeStatus } from './status.js';

// Members whose certificates the operator refuses (or that refuse its own) are not known to be
// down: the status says what is wrong with the certificates, never that the quorum is lost when
// those members could complete it, and no QuorumLost Warning follows.
const ref = { name: 'main', namespace: 'db' };
const now = new Date('2026-12-01T06:00:00Z');

function status(id: string, leaderId: string): EndpointStatus {
  return { endpoint: '', clusterId: '99', memberId: id, leaderId, raftIndex: 10n, raftAppliedIndex: 10n, raftTerm: 2n, dbSize: 1, dbSizeInUse: 1, version: '3.6.16', isLearner: false, errors: [] };
}

const ok = (o: number): MemberView => ({ id: String(1000 + o), name: `main-${o}`, ordinal: o, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: status(String(1000 + o), '1000'), healthy: true, isLeader: o === 0, problem: undefined });
const refused = (o: number, fault: CertificateFault, words = 'unable to verify the first certificate'): MemberView => ({ ...ok(o), status: undefined, healthy: false, isLeader: false, problem: describeRefusal({ fault, words }), certificate: { fault, words } });
const down = (o: number): MemberView => ({ ...ok(o), status: undefined, healthy: false, isLeader: false, problem: 'not answering (Unavailable)' });
const noQuorum = (o: number): MemberView => ({ ...ok(o), status: status(String(1000 + o), '0'), healthy: false, isLeader: false, problem: 'no quorum' });
const view = (members: MemberView[], confirmed = true): EtcdView => ({ clusterId: '99', members, leaderId: confirmed ? '1000' : undefined, quorumConfirmed: confirmed });
const endpoint = (o: number, fault: CertificateFault, words = 'certificate has expired'): RefusedEndpoint => ({ endpoint: `https://10.0.0.${o}:2379`, host: `main-${o}.main-peer.db.svc.cluster.local`, certificate: { fault, words } });

function formed() {
  const cluster = sampleCluster();
  cluster.status = computeStatus({ cluster, ref, etcd: view([ok(0), ok(1), ok(2)]), step: { kind: 'none' }, problems: [], caSecretName: 'main-ca', clusterDomain: 'cluster.local', now });
  return cluster;
}

interface Case {
  etcd: EtcdView | undefined;
  refused?: RefusedEndpoint[];
  step: MembershipStep;
  available: [status: string, reason: string];
  availableMessage?: RegExp;
  progressing?: string;
  degraded: [reason: string, message: RegExp];
}

const quorumWait: MembershipStep = { kind: 'wait', reason: 'quorumLost' };

describe('status with refused certificates', () => {
  it.each<[string, Case]>([
    ['one of three serves a certificate from another CA: Available, Degraded names the certificate', {
      etcd: view([ok(0), ok(1), refused(2, 'untrusted')]), step: { kind: 'none' },
      available: ['True', 'QuorumHealthy'],
      degraded: ['MemberCertificateRefused', /^main-2: serves a certificate that was not signed by the cluster's CA \(unable to verify the first certificate\): its health cannot be checked$/],
    }],
    ['two of three refused, the third serves a linearizable read: the quorum stands; changes wait, said as certificates', {
      etcd: view([ok(0), refused(1, 'untrusted'), refused(2, 'expired', 'certificate has expired')]), step: quorumWait,
      available: ['True', 'QuorumHealthy'],
      availableMessage: /^a quorum answered a linearizable read; 1 of 3 voting members healthy, 2 needed, and 2 more cannot be checked: main-1: .*; main-2: serves a certificate that has expired/,
      progressing: 'CertificatesRefused',
      degraded: ['MemberCertificateRefused', /^main-1: serves a certificate that was not signed .*; main-2: serves a certificate that has expired: its health cannot be checked$/],
    }],
    ['two of three refused, the third without a quorum behind it: Unknown, not QuorumLost', {
      etcd: view([noQuorum(0), refused(1, 'notYetValid', 'certificate is not yet valid'), refused(2, 'wrongName', 'Hostname/IP does not match')], false), step: quorumWait,
      available: ['Unknown', 'CertificatesRefused'],
      availableMessage: /^cannot tell whether a quorum stands \(not a lost quorum\): 0 of 3 voting members healthy, 2 needed, and 2 more cannot be checked: main-1: serves a certificate that is not valid yet: .*; main-2: serves a certificate that does not name the member's address/,
      progressing: 'CertificatesRefused',
      degraded: ['MemberCertificateRefused', /^main-1: .*; main-2: .*$/],
    }],
    ['every member refuses the operator\'s client certificate: Unknown, each one named', {
      etcd: undefined, refused: [0, 1, 2].map((o) => endpoint(o, 'clientRefused', 'unknown ca')), step: { kind: 'wait', reason: 'etcdUnreachable' },
      available: ['Unknown', 'CertificatesRefused'],
      availableMessage: /^no member answers the operator over TLS it accepts, so it cannot tell whether a quorum stands \(not a lost quorum\): main-0: refused the operator's client certificate \(TLS alert: unknown ca\): its health cannot be checked; main-1: .*; main-2: /,
      progressing: 'CertificatesRefused',
      degraded: ['MemberCertificateRefused', /^main-0: refused the operator's client certificate \(TLS alert: unknown ca\): its health cannot be checked; main-1: .*; main-2: .*$/],
    }],
    ['every member serves an expired certificate (the operator back after its leaves expired): Unknown', {
      etcd: undefined, refused: [0, 1, 2].map((o) => endpoint(o, 'expired')), step: { kind: 'wait', reason: 'etcdUnreachable' },
      available: ['Unknown', 'CertificatesRefused'],
      progressing: 'CertificatesRefused',
      degraded: ['MemberCertificateRefused', /^main-0: serves a certificate that has expired: its health cannot be checked; main-1: /],
    }],
    ['one refused and two down: even a healthy third could not make a quorum, so QuorumLost', {
      etcd: view([down(0), down(1), refused(2, 'untrusted')], false), step: quorumWait,
      available: ['False', 'QuorumLost'],
      progressing: 'QuorumLost',
      degraded: ['MemberCertificateRefused', /^main-2: /],
    }],
    ['nobody answers and nobody was refused on a certificate: QuorumLost, as before', {
      etcd: undefined, refused: [], step: { kind: 'wait', reason: 'etcdUnreachable' },
      available: ['False', 'QuorumLost'],
      progressing: 'QuorumLost',
      degraded: ['MemberUnhealthy', /^no member answers$/],
    }],
  ])('%s', (_name, c) => {
    const cluster = formed();
    const s = computeStatus({ cluster, ref, etcd: c.etcd, refused: c.refused, step: c.step, problems: [], caSecretName: 'main-ca', clusterDomain: 'cluster.local', now });
    const cond = (type: string) => s.conditions!.find((x) => x.type === type)!;
    expect([cond('Available').status, cond('Available').reason]).toEqual(c.available);
    if (c.availableMessage) expect(cond('Available').message).toMatch(c.availableMessage);
    if (c.progressing) expect(cond('Progressing').reason).toBe(c.progressing);
    expect(cond('Degraded')).toMatchObject({ status: 'True', reason: c.degraded[0] });
    expect(cond('Degraded').message).toMatch(c.degraded[1]);
    // The page goes out for a lost quorum only.
    const event = quorumLossEvent(cluster.status!.conditions, s.conditions!, true);
    expect(event?.reason).toBe(c.available[1] === 'QuorumLost' ? 'QuorumLost' : undefined);
    // A consented recovery acts on a lost quorum only: an unverifiable one reads as an election.
    expect(['QuorumHealthy', 'NoLeader', 'QuorumLost']).toContain(recoveryQuorum(cond('Available').reason));
  });
});
