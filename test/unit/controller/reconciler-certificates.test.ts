import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateRefusal } from '../../../src/etcd/errors.js';
import { ApiStub } from './fakes.js';
import { World } from './world.js';

// Members the operator cannot verify (they serve a certificate it refuses, or refuse its own) run
// and vote with their peers: etcd's quorum is fine. Passes change nothing, as for any unhealthy
// member, but say what is wrong with the certificates: no QuorumLost, no Warning that pages, and
// a consent to recover is not acted on.
let api: ApiStub;
beforeAll(async () => {
  api = await new ApiStub().start();
});
afterAll(async () => api.close());

const untrusted: CertificateRefusal = { fault: 'untrusted', words: 'unable to verify the first certificate' };
const expired: CertificateRefusal = { fault: 'expired', words: 'certificate has expired' };

describe('members whose certificates the operator refuses', { timeout: 60_000 }, () => {
  it('two of three serve a certificate from another CA: no QuorumLost, Degraded says so, nothing acted on, no recovery', async () => {
    const w = new World(api);
    await w.settle();
    const [, b, c] = w.etcd.view();
    w.etcd.refusing.set(b!.id, untrusted);
    w.etcd.refusing.set(c!.id, untrusted);
    w.edit({ replicas: 5, recovery: { clusterUID: w.cluster().metadata.uid!, fromSurvivor: {} } });
    const passes = [await w.pass(), await w.pass(), await w.pass()];
    const acted = passes.flatMap((p) => p.writes).filter((x) => x.op === 'delete' || (x.op === 'apply' && x.what.startsWith('StatefulSet')));
    expect(acted).toEqual([]);
    expect(w.etcd.view()).toHaveLength(3);
    expect(w.condition('Available')).toMatchObject({ status: 'True', reason: 'QuorumHealthy' });
    expect(w.condition('Progressing')).toMatchObject({ status: 'True', reason: 'CertificatesRefused' });
    expect(w.condition('Degraded')).toMatchObject({ status: 'True', reason: 'MemberCertificateRefused' });
    expect(w.condition('Degraded')!.message).toBe("main-1: serves a certificate that was not signed by the cluster's CA (unable to verify the first certificate): its health cannot be checked; main-2: serves a certificate that was not signed by the cluster's CA (unable to verify the first certificate): its health cannot be checked");
    expect(w.writer.events('Warning')).not.toContain('QuorumLost');
    // A consent while the quorum stands is recorded as ignored, never acted on.
    expect(w.cluster().status?.recovery?.phase ?? 'none').not.toMatch(/Stopping|Restoring|Rejoining/);
    expect(w.cluster().status?.quorumRecovery).toBeUndefined();
  });

  it('every member serves an expired certificate: Available Unknown with the certificates named, no QuorumLost, no recovery offer', async () => {
    const w = new World(api);
    await w.settle();
    for (const m of w.etcd.view()) w.etcd.refusing.set(m.id, expired);
    w.edit({ recovery: { clusterUID: w.cluster().metadata.uid!, fromSurvivor: {} } });
    await w.pass();
    await w.pass();
    expect(w.condition('Available')).toMatchObject({ status: 'Unknown', reason: 'CertificatesRefused' });
    expect(w.condition('Available')!.message).toMatch(/^no member answers the operator over TLS it accepts, so it cannot tell whether a quorum stands \(not a lost quorum\): main-0: serves a certificate that has expired: its health cannot be checked; main-1: .*; main-2: /);
    expect(w.condition('Degraded')).toMatchObject({ status: 'True', reason: 'MemberCertificateRefused' });
    expect(w.writer.events('Warning')).not.toContain('QuorumLost');
    expect(w.cluster().status?.quorumRecovery).toBeUndefined();
    expect(w.cluster().status?.recovery).toBeUndefined();
    // Members serving their renewed certificates again: Available, as before.
    w.etcd.refusing.clear();
    await w.pass();
    expect(w.condition('Available')).toMatchObject({ status: 'True', reason: 'QuorumHealthy' });
  });
});
