import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait.js';
import { ReconcilerBench, secretWrites } from './reconciler-bench.js';

// A quiet pass reads its Secrets from the informer cache only: no GET, not even for the
// `<name>-ca-next` that exists only during a rotation, nor for a user's CA Secret (which has a
// watch of its own). Right after the operator writes its Secrets, the next pass still sees them,
// whether or not their watch events arrived: it reads live while the cache is behind its writes.
describe('Secrets read by a quiet pass, and right after a write', () => {
  let bench: ReconcilerBench;
  beforeAll(async () => {
    bench = await ReconcilerBench.start('controller-quiet-reads');
  });
  afterAll(async () => bench?.stop());

  const secretGets = async <T>(fn: () => Promise<T>): Promise<{ gets: number; result: T }> => {
    const before = await bench.requests('secrets', 'GET');
    const result = await fn();
    return { gets: (await bench.requests('secrets', 'GET')) - before, result };
  };
  const passes = async (name: string, n: number) => {
    const writes: string[][] = [];
    for (let i = 0; i < n; i++) writes.push(await bench.pass(name));
    return writes;
  };

  it('makes no API GET for Secrets on quiet passes of a cluster with its own CA', async () => {
    await bench.create('quiet');
    await bench.settle('quiet');
    const { gets, result } = await secretGets(() => passes('quiet', 5));
    console.log(`own CA: ${gets} Secret GETs in 5 quiet passes; writes ${JSON.stringify(result)}`);
    expect(result.flat()).toEqual([]);
    expect(gets).toBe(0);
  });

  it('makes no API GET for a user CA Secret either, once its watch listed', async () => {
    // The user's CA: a copy of the first cluster's CA, without the operator's labels or owner.
    const ca = JSON.parse(await bench.kubectl('get', 'secret', 'quiet-ca', '-n', bench.ns, '-o', 'json')) as { data: Record<string, string> };
    await bench.kubectl('create', 'secret', 'generic', 'user-ca', '-n', bench.ns, `--from-literal=tls.crt=${Buffer.from(ca.data['tls.crt']!, 'base64').toString()}`, `--from-literal=tls.key=${Buffer.from(ca.data['tls.key']!, 'base64').toString()}`);
    await bench.create('byo', { tls: { enabled: true, caSecretRef: { name: 'user-ca' } } } as never);
    await bench.settle('byo');
    await waitFor('the user CA watch to list', () => bench.cache.namedSecret(`${bench.ns}/byo`, bench.ns, 'user-ca').synced);
    const { gets, result } = await secretGets(() => passes('byo', 5));
    console.log(`user CA: ${gets} Secret GETs in 5 quiet passes; writes ${JSON.stringify(result)}`);
    expect(result.flat()).toEqual([]);
    expect(gets).toBe(0);
    expect((await bench.cluster('byo')).status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'False' });
  });

  it('right after its first pass wrote the Secrets, the next pass sees them even before the cache does: one CA', async () => {
    const names = ['fresh-ca', 'fresh-ca-next', 'fresh-server-tls', 'fresh-peer-tls', 'fresh-operator-client-tls', 'fresh-client-tls'];
    for (const n of names) bench.hiddenSecrets.add(n);
    await bench.create('fresh');
    const first = await bench.passNow('fresh');
    expect(secretWrites(first)).toHaveLength(5);
    const created = await bench.secretVersions('fresh');
    const { gets, result } = await secretGets(() => bench.passNow('fresh'));
    console.log(`second pass with the cache behind: ${gets} Secret GETs, writes ${JSON.stringify(result)}`);
    expect(secretWrites(result)).toEqual([]);
    expect(gets).toBeGreaterThan(0);
    expect(await bench.secretVersions('fresh')).toEqual(created);
    bench.hiddenSecrets.clear();
    // Once the cache holds every write, quiet again.
    await bench.settle('fresh');
    const quiet = await secretGets(() => passes('fresh', 3));
    console.log(`then: ${quiet.gets} Secret GETs in 3 quiet passes`);
    expect(quiet.gets).toBe(0);
  });
});
