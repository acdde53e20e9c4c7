import { X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The CA Secret of a running cluster is deleted. Members trust that CA until they restart, and the
// operator talks to them with a client certificate it signed: a new CA would lock both out. The
// operator must keep what members trust, say what is wrong and what to do, and keep working where
// no new certificate is needed (scaling: every ordinal is already in the members' SANs).
describe('the CA Secret of a running cluster is lost', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'calost';
  let backup: V1Secret;
  const leaves = ['server-tls', 'peer-tls', 'operator-client-tls', 'client-tls'].map((s) => `${name}-${s}`);
  let leavesBefore: Record<string, { resourceVersion: string; serial: string; issuer: string }>;

  const secret = async (secretName: string) => JSON.parse(await env.kubectl('get', 'secret', secretName, '-n', ns, '-o', 'json')) as V1Secret;
  const certOf = (s: V1Secret) => new X509Certificate(Buffer.from(s.data!['tls.crt']!, 'base64'));
  async function leafFacts(): Promise<typeof leavesBefore> {
    const entries = await Promise.all(leaves.map(async (l) => {
      const s = await secret(l);
      return [l, { resourceVersion: s.metadata!.resourceVersion!, serial: certOf(s).serialNumber, issuer: certOf(s).issuer }] as const;
    }));
    return Object.fromEntries(entries);
  }
  const condition = async (type: string) => (await env.cluster(ns, name)).status?.conditions?.find((c) => c.type === type);
  async function caWarnings(): Promise<{ type: string; count?: number; message: string }[]> {
    const out = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=EtcdCluster,involvedObject.name=${name},reason=CASecretMissing`, '-o', 'json');
    return (JSON.parse(out) as { items: { type: string; count?: number; message: string }[] }).items;
  }

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-ca-loss');
    await env.startOperator();
    await env.createCluster(ns, name);
    checker = await env.checker(ns, name);
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('reports the lost CA as Degraded, with a Warning event, and stays Available', async () => {
    backup = await secret(`${name}-ca`);
    leavesBefore = await leafFacts();
    const deleted = Date.now();
    await env.kubectl('delete', 'secret', `${name}-ca`, '-n', ns);
    const degraded = await env.waitFor('Degraded with CASecretMissing', async () => {
      const c = await condition('Degraded');
      return c?.status === 'True' && c.reason === 'CASecretMissing' ? c : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    console.log(`CA Secret deleted -> Degraded/CASecretMissing: ${Date.now() - deleted} ms; message: ${degraded.message}`);
    expect(degraded.message).toContain(`Secret ${ns}/${name}-ca does not exist`);
    expect(degraded.message).toMatch(/restore that CA \(certificate and key\) from a backup/);
    // Passes keep running (every 30 s when idle, and on every change): watch a while.
    for (let i = 0; i < 20; i++) {
      expect(await condition('Available')).toMatchObject({ status: 'True', reason: 'QuorumHealthy' });
      await new Promise((r) => setTimeout(r, 500));
    }
    const warnings = await env.waitFor('a CASecretMissing Warning event', async () => ((await caWarnings()).length > 0 ? caWarnings() : undefined));
    expect(warnings.map((w) => w.type)).toEqual(['Warning']);
    expect(warnings[0]!.message).toContain(`${name}-ca`);
  });

  it('recreates no CA and leaves every certificate as it was', async () => {
    const ca = await env.cp.kubectl(['get', 'secret', `${name}-ca`, '-n', ns, '-o', 'name']);
    expect(ca.code).not.toBe(0);
    expect(ca.stderr).toMatch(/NotFound/);
    expect(await leafFacts()).toEqual(leavesBefore);
  });

  it('scales 3 -> 5 without its CA: new members use the certificates that exist', async () => {
    const started = Date.now();
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=5');
    const cluster = await env.waitConverged(ns, name, 5);
    console.log(`scale 3 -> 5 with the CA Secret gone: ${Date.now() - started} ms`);
    expect(cluster.status!.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'CASecretMissing' });
    expect((await env.cp.kubectl(['get', 'secret', `${name}-ca`, '-n', ns])).code).not.toBe(0);
    expect(await leafFacts()).toEqual(leavesBefore);
    // Many passes ran while scaling: the warning was still sent once.
    const warnings = await caWarnings();
    console.log(`CASecretMissing events after the scale: ${JSON.stringify(warnings.map((w) => ({ type: w.type, count: w.count })))}`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.count ?? 1).toBe(1);
  });

  it('is healthy again once the Secret is restored from the backup', async () => {
    // What a backup tool restores: the object without its server-set fields.
    const { name: secretName, namespace, labels, ownerReferences } = backup.metadata!;
    const metadata = { name: secretName, namespace, labels, ownerReferences };
    const restore = await env.cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ ...backup, metadata }) });
    expect(restore.code, restore.stderr).toBe(0);
    await env.waitFor('Degraded=False', async () => (await condition('Degraded'))?.status === 'False', { timeoutMs: 60_000 });
    expect(await leafFacts()).toEqual(leavesBefore);
  });

  // Before the fix, the pass that reissued it had no credentials to ask etcd with and said so as
  // a lost quorum: Available False (QuorumLost), and a QuorumLost Warning event.
  it('the operator\'s client Secret deleted: reissued from the CA, and no pass claims a lost quorum', async () => {
    const quorumLost = async () => {
      const out = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=EtcdCluster,involvedObject.name=${name},reason=QuorumLost`, '-o', 'json');
      return (JSON.parse(out) as { items: unknown[] }).items.length;
    };
    const lostBefore = await quorumLost();
    const clientSecret = `${name}-operator-client-tls`;
    const serial = certOf(await secret(clientSecret)).serialNumber;
    await env.kubectl('delete', 'secret', clientSecret, '-n', ns);
    const seen = new Set<string>();
    const reissued = await env.waitFor('the client Secret reissued', async () => {
      const available = await condition('Available');
      seen.add(`${available?.status}/${available?.reason}`);
      const s = await env.cp.kubectl(['get', 'secret', clientSecret, '-n', ns, '-o', 'json']);
      return s.code === 0 ? (JSON.parse(s.stdout) as V1Secret) : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    expect(certOf(reissued).serialNumber).not.toBe(serial);
    expect(certOf(reissued).issuer).toBe(certOf(await secret(`${name}-server-tls`)).issuer);
    // Passes go on (on every change, and every 30 s): watch them a while.
    for (let i = 0; i < 20; i++) {
      const available = await condition('Available');
      seen.add(`${available?.status}/${available?.reason}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`Available seen while the client Secret was reissued: ${[...seen].join(', ')}`);
    expect([...seen]).toEqual(['True/QuorumHealthy']);
    expect(await quorumLost()).toBe(lostBefore);
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    await expectNoLoss(checker);
  });
});
