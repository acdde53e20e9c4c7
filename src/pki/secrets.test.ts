import { describe, expect, it } from 'vitest';
import { buildCaSecret, buildTlsSecret } from './secrets.js';

const cluster = { name: 'db', namespace: 'prod' };
const owner = { apiVersion: 'etcd.example.com/v1alpha1', kind: 'EtcdCluster', name: 'db', uid: 'u1', controller: true };
const material = { certPem: 'CERT\n', keyPem: 'KEY\n' };

describe('TLS Secret builders', () => {
  it('build a kubernetes.io/tls Secret with the standard keys, cluster labels and the given owner', () => {
    const s = buildTlsSecret(cluster, 'db-server-tls', material, 'CA\n', owner);
    expect(s).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'db-server-tls', namespace: 'prod', ownerReferences: [owner] } });
    expect(s.metadata?.labels).toEqual({ 'app.kubernetes.io/name': 'etcd', 'app.kubernetes.io/instance': 'db', 'app.kubernetes.io/managed-by': 'etcd-operator' });
    const decoded = Object.fromEntries(Object.entries(s.data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(decoded).toEqual({ 'tls.crt': 'CERT\n', 'tls.key': 'KEY\n', 'ca.crt': 'CA\n' });
  });

  it('are pure: equal inputs give equal Secrets, and the owner passed in is not shared', () => {
    const a = buildTlsSecret(cluster, 'x', material, 'CA', owner);
    expect(buildTlsSecret(cluster, 'x', material, 'CA', owner)).toEqual(a);
    expect(a.metadata?.ownerReferences?.[0]).not.toBe(owner);
  });

  it('make the operator CA its own trust bundle', () => {
    expect(buildCaSecret(cluster, 'db-ca', material, owner).data?.['ca.crt']).toBe(Buffer.from('CERT\n').toString('base64'));
  });
});
