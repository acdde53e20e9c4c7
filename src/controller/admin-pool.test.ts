import { describe, expect, it } from 'vitest';
import type { EndpointMemory } from '../etcd/endpoint-memory.js';
import type { EtcdAdmin, EtcdTls } from '../etcd/types.js';
import { AdminPool } from './admin-pool.js';

const tls: EtcdTls = { caPem: 'ca', certPem: 'cert', keyPem: 'key' };
const endpoints = [{ url: 'https://a:2379', serverName: 'a' }];

/** A pool whose clients record whether they were closed, and the memory each was given. */
function pool() {
  const made: { closed: boolean; memory: EndpointMemory }[] = [];
  const admins = new AdminPool((_e, _t, memory) => {
    const client = { closed: false, memory };
    made.push(client);
    return { close: () => (client.closed = true) } as unknown as EtcdAdmin;
  });
  return { admins, made };
}

describe('AdminPool', () => {
  it('reuses the open client while nothing changed', () => {
    const { admins, made } = pool();
    expect(admins.get('ns/a', endpoints, tls)).toBe(admins.get('ns/a', endpoints, tls));
    expect(made).toHaveLength(1);
  });

  it('release closes the client and the next pass dials a new one with the same endpoint memory', () => {
    const { admins, made } = pool();
    admins.get('ns/a', endpoints, tls);
    admins.release('ns/a');
    admins.release('ns/a');
    expect(made.map((c) => c.closed)).toEqual([true]);
    admins.get('ns/a', endpoints, tls);
    expect(made.map((c) => c.closed)).toEqual([true, false]);
    expect(made[1]!.memory).toBe(made[0]!.memory);
  });

  it('after drop the endpoint memory starts afresh', () => {
    const { admins, made } = pool();
    admins.get('ns/a', endpoints, tls);
    admins.release('ns/a');
    admins.drop('ns/a');
    admins.get('ns/a', endpoints, tls);
    expect(made).toHaveLength(2);
    expect(made[1]!.memory).not.toBe(made[0]!.memory);
  });

  it('closes each replaced or released client once and keeps no closed client', () => {
    let closes = 0;
    const admins = new AdminPool(() => ({ close: () => closes++ }) as unknown as EtcdAdmin);
    admins.get('ns/a', endpoints, tls);
    admins.release('ns/a');
    admins.release('ns/a');
    admins.get('ns/a', endpoints, tls);
    admins.get('ns/a', [{ url: 'https://b:2379', serverName: 'b' }], tls);
    expect(closes).toBe(2);
    admins.release('ns/a');
    // What a released cluster keeps: its endpoint memory only, so V8 can collect the closed client.
    const kept = (admins as unknown as { clients: Map<string, object> }).clients.get('ns/a');
    expect(Object.keys(kept!).sort()).toEqual(['memory', 'signature']);
  });
});
