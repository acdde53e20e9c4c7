import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import type { EtcdAdmin, EtcdTls } from '../../src/etcd/types.js';
import { NoMemberAnswered, observeEtcd } from '../../src/controller/observe-etcd.js';
import { availability } from '../../src/controller/quorum-report.js';
import { NoticeMemo, lastingRefusalMs, refusalNotices } from '../../src/controller/notices.js';
import { type CertificateAndKey, issue } from '../../src/pki/x509.js';
import { type EtcdMember, type EtcdTestCluster, generatedTestPki, startEtcdCluster } from '../harness/etcd-cluster.js';

// Three real etcd members whose client-port certificates go bad one by one while their quorum
// stays fine (peer certificates are untouched; etcd reads its certificate files on each new
// connection). The operator's view must say which certificate is refused and why, and never
// call a quorum that the refused members could complete lost. Before CertificateRefused, the
// member read "not answering (Unavailable)" and two of three read as QuorumLost.
const ref = { name: 'refusal', namespace: 'test' };
const serial = () => {
  const b = randomBytes(15);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
};

describe('members whose certificates the operator refuses, on real etcd', { timeout: 120_000 }, () => {
  let etcd: EtcdTestCluster;
  let tls: EtcdTls;
  let otherCa: CertificateAndKey;
  let ca: CertificateAndKey;
  const now = Date.now();
  const valid = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000) };

  const serve = async (m: EtcdMember, ca: CertificateAndKey, validity = valid) => {
    const cert = await issue({ commonName: m.name, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usages: ['serverAuth', 'clientAuth'], ...validity, serialHex: serial() }, ca);
    writeFileSync(m.files.serverKey, cert.keyPem);
    writeFileSync(m.files.serverCert, cert.certPem);
  };
  /** A fresh client, so every member is dialled anew and serves the files as they are now. */
  const look = async <T>(fn: (admin: EtcdAdmin) => Promise<T>, client: EtcdTls = tls): Promise<T> => {
    const admin = createEtcdAdmin({ endpoints: etcd.endpoints(), tls: client, callTimeoutMs: 5_000 });
    try {
      return await fn(admin);
    } finally {
      admin.close();
    }
  };
  const member = (name: string) => etcd.members.get(name)!;

  beforeAll(async () => {
    const pki = await generatedTestPki();
    ca = pki.ca;
    etcd = await startEtcdCluster({ size: 3, label: 'cert-refusal', pki });
    tls = { caPem: etcd.pki.trustedCaPem, certPem: etcd.pki.client.certPem, keyPem: etcd.pki.client.keyPem };
    otherCa = await issue({ commonName: 'another-ca', isCA: true, ...valid, serialHex: serial() });
  });
  afterAll(async () => etcd?.stop());

  it('one member serves a certificate from another CA: named as such, the quorum stays Available', async () => {
    await serve(member('m2'), otherCa);
    const view = await look((a) => observeEtcd(a, ref));
    const m2 = view.members.find((m) => m.name === 'm2')!;
    expect(m2).toMatchObject({ healthy: false, certificate: { fault: 'untrusted' } });
    expect(m2.problem).toMatch(/^serves a certificate that was not signed by the cluster's CA \(unable to verify the first certificate\)/);
    expect(availability(view, undefined, undefined, new Date())).toMatchObject({ available: true, reason: 'QuorumHealthy' });
  });

  it('two of three refused (another CA, expired): a quorum still answers the linearizable read, so not QuorumLost', async () => {
    await serve(member('m1'), ca, { notBefore: new Date(now - 2 * 24 * 3600_000), notAfter: new Date(now - 3600_000) });
    const view = await look((a) => observeEtcd(a, ref));
    expect(view.members.map((m) => [m.name, m.certificate?.fault]).sort()).toEqual([['m0', undefined], ['m1', 'expired'], ['m2', 'untrusted']]);
    expect(view.quorumConfirmed).toBe(true);
    const a = availability(view, undefined, undefined, new Date());
    console.log(`two of three refused: ${JSON.stringify(a)}`);
    expect(a).toMatchObject({ available: true, reason: 'QuorumHealthy' });
    expect(a.message).toMatch(/^a quorum answered a linearizable read; 1 of 3 voting members healthy, 2 needed, and 2 more cannot be checked: /);
    expect(a.message).toContain('m1: serves a certificate that has expired: its health cannot be checked');
    expect(a.message).toContain("m2: serves a certificate that was not signed by the cluster's CA");
    // A Warning per refused member once the refusal lasts (before: status only, no event).
    const memo = new NoticeMemo();
    expect(memo.due(ref.name, refusalNotices(view, []), 0)).toEqual([]);
    expect(memo.due(ref.name, refusalNotices(view, []), lastingRefusalMs).map((n) => [n.type, n.reason, n.message.split(': ')[0]]).sort()).toEqual([['Warning', 'MemberCertificateRefused', 'm1'], ['Warning', 'MemberCertificateRefused', 'm2']]);
  });

  it('all three refused: no view, the refusal of each endpoint, and Unknown rather than QuorumLost', async () => {
    await serve(member('m0'), otherCa);
    const err = await look((a) => observeEtcd(a, ref)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoMemberAnswered);
    const refused = (err as NoMemberAnswered).refused;
    expect(refused.map((r) => r.certificate.fault).sort()).toEqual(['expired', 'untrusted', 'untrusted']);
    expect(availability(undefined, undefined, undefined, new Date(), refused)).toMatchObject({ available: false, unknown: true, reason: 'CertificatesRefused' });
    expect(new Set(refusalNotices(undefined, refused).map((n) => n.key)).size).toBe(3);
    // Healthy all along: etcd's own client, trusting both CAs, reads through the quorum.
    const health = await etcd.etcdctl(['--insecure-skip-tls-verify', 'endpoint', 'health']);
    expect(health.stderr + health.stdout).toMatch(/is healthy/);
  });

  it('every member refuses the operator\'s client certificate (another CA): clientRefused, Unknown', async () => {
    for (const name of ['m0', 'm1', 'm2']) await serve(member(name), ca);
    const foreign = await issue({ commonName: 'root', usages: ['clientAuth'], ...valid, serialHex: serial() }, otherCa);
    const err = await look((a) => observeEtcd(a, ref), { ...tls, certPem: foreign.certPem, keyPem: foreign.keyPem }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoMemberAnswered);
    expect((err as NoMemberAnswered).refused.map((r) => r.certificate)).toEqual([0, 1, 2].map(() => ({ fault: 'clientRefused', words: 'unknown ca' })));
    // With the cluster's own client certificate and members serving the cluster's certificates again: all healthy.
    const view = await look((a) => observeEtcd(a, ref));
    expect(view.members.every((m) => m.healthy)).toBe(true);
  });
});
