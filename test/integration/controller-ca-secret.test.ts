import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { issue } from '../../src/pki/x509.js';
import { trustBundleAnnotation } from '../../src/resources/pod-template.js';
import { ReconcilerBench, secretWrites } from './reconciler-bench.js';

// The CA Secret of a cluster whose StatefulSet exists (members may run and trust its CA) is
// relabelled, damaged, then deleted. The operator must never mint another CA nor touch the leaves:
// it uses what it can still prove is its own, and otherwise reports, with one Warning event.
describe('the CA Secret of a cluster with members: relabelled, damaged, deleted', () => {
  let bench: ReconcilerBench;
  const name = 'keeper';
  let leaves: Record<string, string>;
  beforeAll(async () => {
    bench = await ReconcilerBench.start('controller-ca-secret');
    await bench.create(name);
    await bench.settle(name);
    expect(bench.cache.get('StatefulSet', bench.ns, name)).toBeDefined();
    leaves = Object.fromEntries(Object.entries(await bench.secretVersions(name)).filter(([k]) => k !== `Secret/${name}-ca`));
    expect(Object.keys(leaves)).toHaveLength(4);
  });
  afterAll(async () => bench?.stop());

  const degraded = async () => (await bench.cluster(name)).status!.conditions!.find((c) => c.type === 'Degraded')!;
  const leafVersions = async () => Object.fromEntries(Object.entries(await bench.secretVersions(name)).filter(([k]) => k !== `Secret/${name}-ca`));
  const passes = async (n: number) => {
    const all: string[][] = [];
    for (let i = 0; i < n; i++) all.push(await bench.pass(name));
    return all;
  };

  // Before the fix: Degraded CAChanged (blaming the intact CA Secret), nothing reissued, and the
  // StatefulSet's trust hash moved to the foreign bundle, so members would have rolled onto it.
  it('puts back a server Secret edited to another CA in one pass: nothing Degraded, the members\' trust hash unmoved', async () => {
    const hash = () => (bench.cache.get('StatefulSet', bench.ns, name) as V1StatefulSet).spec!.template.metadata!.annotations![trustBundleAnnotation];
    const before = hash();
    const day = 24 * 3600_000;
    const other = await issue({ commonName: 'other-ca', isCA: true, notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + 30 * day), serialHex: '01' });
    const leaf = await issue({ commonName: name, usages: ['serverAuth'], notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + 30 * day), serialHex: '02' }, other);
    const data = Object.fromEntries(Object.entries({ 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': other.certPem }).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    await bench.kubectl('patch', 'secret', `${name}-server-tls`, '-n', bench.ns, '--type=merge', '-p', JSON.stringify({ data }));
    const writes = await passes(2);
    console.log(`edited server Secret, writes per pass: ${JSON.stringify(writes)}`);
    expect(writes[0]!.filter((w) => w.includes('Secret'))).toEqual([`apply Secret/${name}-server-tls`]);
    expect(writes[1]).toEqual([]);
    expect(await degraded()).toMatchObject({ status: 'False' });
    expect(hash()).toBe(before);
    const server = JSON.parse(await bench.kubectl('get', 'secret', `${name}-server-tls`, '-n', bench.ns, '-o', 'json')) as { data: Record<string, string> };
    expect(server.data['ca.crt']).not.toBe(data['ca.crt']);
    leaves = await leafVersions();
  });

  it('keeps signing with its own CA Secret after its labels are removed (read live, never rewritten)', async () => {
    await bench.kubectl('label', 'secret', `${name}-ca`, '-n', bench.ns, 'app.kubernetes.io/instance-', 'app.kubernetes.io/managed-by-');
    const writes = await passes(2);
    console.log(`relabelled CA, writes per pass: ${JSON.stringify(writes)}`);
    expect(writes.flatMap(secretWrites)).toEqual([]);
    expect(await degraded()).toMatchObject({ status: 'False' });
    expect(await leafVersions()).toEqual(leaves);
  });

  it('reports a damaged CA key as Degraded with one Warning event, and issues nothing', async () => {
    const garbage = Buffer.from('not a key').toString('base64');
    await bench.kubectl('patch', 'secret', `${name}-ca`, '-n', bench.ns, '--type=merge', '-p', JSON.stringify({ data: { 'tls.key': garbage } }));
    const writes = await passes(3);
    console.log(`damaged CA, writes per pass: ${JSON.stringify(writes)}`);
    expect(writes.flatMap(secretWrites)).toEqual([]);
    expect(writes.flat().filter((w) => w.startsWith('event '))).toEqual(['event CASecretInvalid']);
    expect(await degraded()).toMatchObject({ status: 'True', reason: 'CASecretInvalid', message: expect.stringMatching(/keeper-ca: tls.key is not a PEM private key\. Members trust the CA in ca\.crt of Secret default\/keeper-server-tls: restore/) as string });
    expect(await leafVersions()).toEqual(leaves);
  });

  it('reports a deleted CA Secret as CASecretMissing, recreates nothing, and still renews nothing', async () => {
    await bench.kubectl('delete', 'secret', `${name}-ca`, '-n', bench.ns);
    bench.daysAhead = 340; // every leaf due: without the CA it cannot be renewed, and must not be reissued
    const writes = await passes(3);
    console.log(`deleted CA, writes per pass: ${JSON.stringify(writes)}`);
    expect(writes.flatMap(secretWrites)).toEqual([]);
    expect(writes.flat().filter((w) => w.startsWith('event '))).toEqual(['event CASecretMissing']);
    expect(await degraded()).toMatchObject({ status: 'True', reason: 'CASecretMissing', message: expect.stringContaining(`Secret default/${name}-ca does not exist`) as string });
    expect(await bench.secretVersions(name)).toEqual(leaves);
  });
});
