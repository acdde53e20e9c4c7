import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import type { EtcdTls } from '../../src/etcd/types.js';
import { type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';

// The operator reaches members by pod IP and verifies the DNS name in their certificate.
describe('etcd admin client with a TLS server name per endpoint', () => {
  let cluster: EtcdTestCluster;
  let tls: EtcdTls;
  let endpoint: string;

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 1, label: 'server-name' });
    tls = { caPem: cluster.pki.trustedCaPem, certPem: cluster.pki.client.certPem, keyPem: cluster.pki.client.keyPem };
    endpoint = cluster.endpoints()[0]!;
  });
  afterAll(async () => cluster?.stop());

  it('connects when the name is one the certificate carries', async () => {
    const admin = createEtcdAdmin({ endpoints: [endpoint], tls, callTimeoutMs: 5_000, serverNames: { [endpoint]: 'localhost' } });
    try {
      expect((await admin.memberList()).members).toHaveLength(1);
    } finally {
      admin.close();
    }
  });

  it('refuses a member whose certificate does not carry the name', async () => {
    const admin = createEtcdAdmin({ endpoints: [endpoint], tls, callTimeoutMs: 5_000, serverNames: { [endpoint]: 'm9.elsewhere.example' } });
    try {
      await expect(admin.memberList()).rejects.toMatchObject({ kind: 'CertificateRefused', certificate: { fault: 'wrongName' } });
    } finally {
      admin.close();
    }
  });
});
