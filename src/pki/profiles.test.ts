import { describe, expect, it } from 'vitest';
import { maxMembers } from '../resources/names.js';
import { leafProfile, leafProfiles, serverHostNames } from './profiles.js';

const cluster = { name: 'db', namespace: 'prod', clusterDomain: 'example.internal' };

describe('certificate profiles', () => {
  it('names every member ordinal, short to fully qualified, plus client service names and loopback', () => {
    const hosts = serverHostNames(cluster);
    for (let i = 0; i < maxMembers; i++) {
      expect(hosts).toContain(`db-${i}.db-peer`);
      expect(hosts).toContain(`db-${i}.db-peer.prod`);
      expect(hosts).toContain(`db-${i}.db-peer.prod.svc`);
      expect(hosts).toContain(`db-${i}.db-peer.prod.svc.example.internal`);
    }
    expect(hosts).not.toContain(`db-${maxMembers}.db-peer.prod.svc.example.internal`);
    expect(hosts).toEqual(expect.arrayContaining(['db-client', 'db-client.prod', 'db-client.prod.svc', 'db-client.prod.svc.example.internal', 'localhost']));
    expect(new Set(hosts).size).toBe(hosts.length);
    expect(hosts.some((h) => h.includes('*'))).toBe(false);
  });

  it('gives server and peer certificates the same SANs and both usages', () => {
    for (const kind of ['server', 'peer'] as const) {
      const p = leafProfile(cluster, kind);
      expect(p.dnsNames).toEqual(serverHostNames(cluster));
      expect(p.ipAddresses).toEqual(['127.0.0.1']);
      expect(p.usages).toEqual(['serverAuth', 'clientAuth']);
    }
  });

  it('gives client certificates no SANs, client usage only, and etcd user names as CN', () => {
    expect(leafProfile(cluster, 'operatorClient')).toMatchObject({ commonName: 'root', dnsNames: [], ipAddresses: [], usages: ['clientAuth'] });
    expect(leafProfile(cluster, 'userClient')).toMatchObject({ commonName: 'etcd-client', dnsNames: [], usages: ['clientAuth'] });
  });

  it('puts each leaf in its own Secret, named by the names module', () => {
    expect(leafProfiles(cluster).map((p) => p.secretName)).toEqual(['db-server-tls', 'db-peer-tls', 'db-operator-client-tls', 'db-client-tls']);
  });
});
