import { describe, expect, it } from 'vitest';
import { issue } from '../pki/x509.js';
import { connectEndpoint, credentialsFor } from './connection.js';
import type { EtcdTls } from './types.js';

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2027-01-01T00:00:00Z');

async function material(name: string): Promise<EtcdTls> {
  const ca = await issue({ commonName: `${name}-ca`, isCA: true, notBefore, notAfter, serialHex: '01' });
  const client = await issue({ commonName: `${name}-client`, usages: ['clientAuth'], notBefore, notAfter, serialHex: '02' }, ca);
  return { caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem };
}

/** What connectEndpoint set on the client's one host, and the channel options it dials with. */
function host(client: ReturnType<typeof connectEndpoint>): { host: string; channelCredentials: unknown; channelOptions: Record<string, unknown> } {
  return (client as unknown as { pool: { hosts: ReturnType<typeof host>[] } }).pool.hosts[0]!;
}

describe('connectEndpoint', () => {
  it('dials every client of the same TLS material with one set of credentials, and other material with its own', async () => {
    const a = await material('a');
    const b = await material('b');
    const clients = [connectEndpoint('https://10.0.0.1:2379', a), connectEndpoint('https://10.0.0.2:2379', { ...a }, 'a-0'), connectEndpoint('https://10.0.0.1:2379', b)];
    try {
      const [first, second, other] = clients.map(host);
      expect(first!.channelCredentials).toBe(credentialsFor(a));
      expect(second!.channelCredentials).toBe(first!.channelCredentials);
      expect(other!.channelCredentials).toBe(credentialsFor(b));
      expect(other!.channelCredentials).not.toBe(first!.channelCredentials);
      // TLS credentials, not the plain ones etcd3 made for a host given without its scheme.
      expect((first!.channelCredentials as { _isSecure(): boolean })._isSecure()).toBe(true);
      expect(first!.host).toBe('10.0.0.1:2379');
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('keeps each client on connections of its own: grpc-js shares them only between equal channel options', async () => {
    const a = await material('a');
    const clients = [connectEndpoint('https://10.0.0.1:2379', a), connectEndpoint('https://10.0.0.1:2379', a)];
    try {
      const [first, second] = clients.map(host);
      expect(first!.channelOptions['etcd-operator.client']).not.toBe(second!.channelOptions['etcd-operator.client']);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
