import { X509Certificate } from 'node:crypto';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCa } from '../../src/pki/issue.js';
import { buildCaSecret } from '../../src/pki/secrets.js';
import { memberSelector, selectorString } from '../../src/resources/names.js';
import { ownerReference } from '../../src/resources/owner.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The operator's CA Secret is deleted while a CA rotation is under way. The rotation never needs
// the old CA's key (widening and narrowing rewrite bundles, the reissue signs with the next CA),
// and the old CA's certificate lives on in every bundle. Once the bundles hold the next CA (the
// operator wrote it there: members trust it or are rolling to it), the rotation carries on from
// the next CA and the CA Secret comes back holding it. Before that, no member trusts the next CA,
// and the operator does not make them: the rotation waits for the CA Secret, saying so.
describe('the CA Secret lost in the middle of a CA rotation', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'carotlost';
  const caName = `${name}-ca`;
  const nextName = `${name}-ca-next`;
  const leaves = ['server-tls', 'peer-tls', 'operator-client-tls', 'client-tls'].map((s) => `${name}-${s}`);

  const secret = async (secretName: string) => JSON.parse(await env.kubectl('get', 'secret', secretName, '-n', ns, '-o', 'json')) as V1Secret;
  const exists = async (secretName: string) => (await env.cp.kubectl(['get', 'secret', secretName, '-n', ns])).code === 0;
  const pem = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString('utf8');
  const blocks = (bundle: string) => (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => b.trim());
  const condition = async (type: string) => (await env.cluster(ns, name)).status?.conditions?.find((c) => c.type === type);
  const pods = async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', selectorString(memberSelector({ name, namespace: ns })), '-o', 'json')) as { items: V1Pod[] }).items;
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  const events = async (reason: string) => {
    const out = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=EtcdCluster,involvedObject.name=${name},reason=${reason}`, '-o', 'json');
    return (JSON.parse(out) as { items: { type: string; message: string }[] }).items;
  };
  /** What a backup tool restores: the object without its server-set fields. */
  const restore = async (backup: V1Secret) => {
    const { name: secretName, namespace, labels, annotations, ownerReferences } = backup.metadata!;
    const res = await env.cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ ...backup, metadata: { name: secretName, namespace, labels, annotations, ownerReferences } }) });
    expect(res.code, res.stderr).toBe(0);
  };
  const seenAvailable = new Set<string>();
  const seenDegraded = new Set<string>();
  async function look(): Promise<void> {
    const conditions = (await env.cluster(ns, name)).status?.conditions ?? [];
    const a = conditions.find((c) => c.type === 'Available');
    seenAvailable.add(`${a?.status}/${a?.reason}`);
    const d = conditions.find((c) => c.type === 'Degraded');
    if (d?.status === 'True') seenDegraded.add(`${d.reason}: ${d.message}`);
  }

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-ca-loss-rotation');
    await env.startOperator();
    await env.createCluster(ns, name);
    await env.waitFor('every pod Ready', async () => ((await pods()).filter(ready).length === 3 ? true : undefined), { timeoutMs: 60_000 });
    // A client that reloads its certificate Secret, as an application with a mounted Secret does.
    checker = await env.checker(ns, name, { reloadTls: true });
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('the CA Secret deleted once the bundles hold the next CA: the rotation finishes from the next CA', { timeout: 900_000 }, async () => {
    const oldCa = pem(await secret(caName), 'tls.crt').trim();
    const started = Date.now();
    await env.kubectl('annotate', 'etcdcluster', name, '-n', ns, 'etcd.operator.dev/rotate-ca=lost-1');
    const nextCa = await env.waitFor('the server bundle to hold the next CA', async () => {
      const bundle = blocks(pem(await secret(`${name}-server-tls`), 'ca.crt'));
      return bundle.length === 2 ? bundle.find((b) => b !== oldCa) : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 });
    await env.kubectl('delete', 'secret', caName, '-n', ns);
    const deleted = Date.now();
    console.log(`annotation -> bundles widened: ${deleted - started} ms; ${caName} deleted`);
    // Before the fix the rotation stopped here: Degraded CASecretMissing, the CA Secret never came back.
    const done = await env.waitFor('the rotation to finish without the old CA', async () => {
      await look();
      if ((await exists(nextName)) || !(await exists(caName))) return undefined;
      const progressing = await condition('Progressing');
      const list = await pods();
      return progressing?.status === 'False' && list.length === 3 && list.every(ready) ? true : undefined;
    }, { timeoutMs: 600_000, intervalMs: 500 });
    expect(done).toBe(true);
    console.log(`${caName} deleted -> rotation finished: ${Date.now() - deleted} ms; Available seen: ${[...seenAvailable].join(', ')}; Degraded seen: ${[...seenDegraded].join(' | ') || 'none'}`);
    const ca = pem(await secret(caName), 'tls.crt').trim();
    expect(ca).toBe(nextCa);
    const issuer = new X509Certificate(ca);
    for (const l of leaves) {
      const s = await secret(l);
      expect(new X509Certificate(pem(s, 'tls.crt')).verify(issuer.publicKey), `${l} signed by the next CA`).toBe(true);
      expect(blocks(pem(s, 'ca.crt')), `${l} trusts the next CA alone`).toEqual([nextCa]);
    }
    expect([...seenAvailable]).toEqual(['True/QuorumHealthy']);
    await env.waitFor('Degraded=False', async () => ((await condition('Degraded'))?.status === 'False' ? true : undefined), { timeoutMs: 60_000 });
  });

  it('the CA Secret deleted before any bundle holds the next CA: blocked, saying why, and nothing trusts the next CA', { timeout: 300_000 }, async () => {
    // The state right after the start step (the next CA written, no bundle widened yet), made with
    // the operator away so that its next pass cannot widen first.
    await env.operator().process.stop();
    const cluster = await env.cluster(ns, name);
    const next = await issueCa({ name, namespace: ns, clusterDomain: 'cluster.local' }, { validityMs: 90 * 24 * 3600_000, renewBeforeMs: 30 * 24 * 3600_000 }, new Date());
    const nextSecret = buildCaSecret({ name, namespace: ns }, nextName, next, ownerReference(cluster), { 'etcd.operator.dev/rotate-ca': 'lost-2' });
    const created = await env.cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(nextSecret) });
    expect(created.code, created.stderr).toBe(0);
    await env.kubectl('annotate', '--overwrite', 'etcdcluster', name, '-n', ns, 'etcd.operator.dev/rotate-ca=lost-2');
    const backup = await secret(caName);
    const bundlesBefore = await Promise.all(leaves.map(async (l) => pem(await secret(l), 'ca.crt')));
    await env.kubectl('delete', 'secret', caName, '-n', ns);
    await env.startOperator();
    const degraded = await env.waitFor('Degraded with CARotationBlocked', async () => {
      const c = await condition('Degraded');
      return c?.status === 'True' && c.reason === 'CARotationBlocked' ? c : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    console.log(`blocked: ${degraded.message}`);
    expect(degraded.message).toContain(`Secret ${ns}/${caName}`);
    expect(degraded.message).toContain('no member trusts the next CA');
    const warnings = await env.waitFor('a CARotationBlocked Warning event', async () => {
      const list = (await events('CARotationBlocked')).filter((e) => e.message.includes('no member trusts the next CA'));
      return list.length > 0 ? list : undefined;
    });
    expect(warnings.map((w) => w.type)).toEqual(['Warning']);
    // Passes go on: nothing widens, nothing is issued, members stay available.
    for (let i = 0; i < 20; i++) {
      await look();
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await Promise.all(leaves.map(async (l) => pem(await secret(l), 'ca.crt')))).toEqual(bundlesBefore);
    expect(await exists(caName)).toBe(false);
    expect([...seenAvailable]).toEqual(['True/QuorumHealthy']);
    // The CA Secret restored from its backup: the rotation resumes and widens.
    await restore(backup);
    await env.waitFor('the server bundle to hold the next CA', async () => (blocks(pem(await secret(`${name}-server-tls`), 'ca.crt')).includes(next.certPem.trim()) ? true : undefined), { timeoutMs: 120_000 });
    await env.waitFor('Degraded=False', async () => ((await condition('Degraded'))?.status === 'False' ? true : undefined), { timeoutMs: 60_000 });
  });

  it('the next-CA Secret deleted once a leaf comes from it: the rotation goes back, then a new one finishes', { timeout: 900_000 }, async () => {
    // The rotation of the test above carries on; the operator is killed right after the reissue's
    // first write (a leaf signed by the next CA, members trusting both), and the next-CA Secret,
    // with the only copy of its key, is deleted while it is away. Before: CARotationBlocked for
    // good, no leaf renewed again until a person restored that Secret from a backup.
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-ca-reissue' });
    await env.waitFor('the operator to die after the first reissued leaf', () => !crashing.process.running(), { timeoutMs: 240_000, intervalMs: 100 });
    const caBefore = pem(await secret(caName), 'tls.crt').trim();
    const lost = pem(await secret(nextName), 'tls.crt').trim();
    await env.kubectl('delete', 'secret', nextName, '-n', ns);
    const deleted = Date.now();
    await env.startOperator();
    const progress = new Set<string>();
    let maxDown = 0;
    const done = await env.waitFor('back, then a new rotation to its end', async () => {
      await look();
      const list = await pods();
      maxDown = Math.max(maxDown, 3 - list.filter((p) => !p.metadata?.deletionTimestamp).length);
      const p = await condition('Progressing');
      if (p?.status === 'True') progress.add(`${p.reason}${p.message?.includes('going back') ? ' (back)' : ''}`);
      if (await exists(nextName)) return undefined;
      const ca = pem(await secret(caName), 'tls.crt').trim();
      return ca !== caBefore && p?.status === 'False' && list.length === 3 && list.every(ready) ? ca : undefined;
    }, { timeoutMs: 600_000, intervalMs: 300 });
    console.log(`next-CA Secret deleted -> back and rotated anew: ${Date.now() - deleted} ms; Progressing seen: ${[...progress].join(', ')}; max pods down at once: ${maxDown}`);
    expect([...progress].some((p) => p.endsWith('(back)'))).toBe(true);
    expect(done).not.toBe(lost);
    const issuer = new X509Certificate(done);
    for (const l of leaves) {
      const s = await secret(l);
      expect(new X509Certificate(pem(s, 'tls.crt')).verify(issuer.publicKey), `${l} signed by the new CA`).toBe(true);
      expect(blocks(pem(s, 'ca.crt')), `${l} trusts the new CA alone`).toEqual([done]);
    }
    expect(maxDown).toBeLessThanOrEqual(1);
    expect([...seenAvailable]).toEqual(['True/QuorumHealthy']);
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    await expectNoLoss(checker);
  });
});
