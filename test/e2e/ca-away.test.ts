import { X509Certificate } from 'node:crypto';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberSelector, selectorString } from '../../src/resources/names.js';
import type { Checker } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The operator is killed (SIGKILL) and stays away past the end of every leaf certificate (valid
// 1 minute here; the CA lives on). When it comes back, its own client certificate has expired
// too: the first pass must reissue every leaf from the CA, ask etcd with the client certificate it
// just issued, and the members must serve the new certificates (etcd reads them on each new
// connection, the kubelet refreshes the Secret volumes) without a restart.
describe('every leaf certificate expired while the operator was away', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'caaway';
  const tls = { certificateValidity: '1m', renewBefore: '30s', caValidity: '1h' };
  const leaves = ['server-tls', 'peer-tls', 'operator-client-tls', 'client-tls'].map((s) => `${name}-${s}`);

  const secret = async (secretName: string) => JSON.parse(await env.kubectl('get', 'secret', secretName, '-n', ns, '-o', 'json')) as V1Secret;
  const pem = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString('utf8');
  const notAfter = async (secretName: string) => new Date(new X509Certificate(pem(await secret(secretName), 'tls.crt')).validTo).getTime();
  const pods = async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', selectorString(memberSelector({ name, namespace: ns })), '-o', 'json')) as { items: V1Pod[] }).items;
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-ca-away');
    await env.startOperator();
    const manifest = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name, namespace: ns }, spec: { replicas: 3, tls } };
    const apply = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    expect(apply.code, apply.stderr).toBe(0);
    await env.waitConverged(ns, name, 3);
    await env.waitFor('every pod Ready', async () => ((await pods()).filter(ready).length === 3 ? true : undefined), { timeoutMs: 60_000 });
    // A client that reloads its certificate Secret, as an application with a mounted Secret does.
    checker = await env.checker(ns, name, { reloadTls: true });
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('comes back: every leaf reissued in its first passes, members serve them without a restart, Available again', { timeout: 420_000 }, async () => {
    const uids = new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const quorumLost = async () => (await env.eventReasons(ns)).filter((r) => r === 'QuorumLost').length;
    // The bootstrap may have said it (members starting): only what follows the return counts.
    const lostBefore = await quorumLost();
    const op = env.operator().process;
    process.kill(op.pid, 'SIGKILL');
    await op.exited;
    const latest = Math.max(...(await Promise.all(leaves.map(notAfter))));
    const killed = Date.now();
    console.log(`operator killed; the last leaf ends in ${latest - killed} ms`);
    await env.waitFor('every leaf to expire', () => (Date.now() > latest + 5_000 ? true : undefined), { timeoutMs: latest - killed + 60_000, intervalMs: 1_000 });
    const back = Date.now();
    await env.startOperator();
    const seen: string[] = [];
    const recovered = await env.waitFor('every leaf valid and served, Available, every pod Ready', async () => {
      const c = await env.cluster(ns, name);
      const a = c.status?.conditions?.find((x) => x.type === 'Available');
      const state = `${a?.status}/${a?.reason}`;
      if (seen.at(-1) !== state) seen.push(state);
      const ends = await Promise.all(leaves.map(notAfter));
      const list = await pods();
      // readyReplicas: the operator's own health check reached every member over TLS, so each
      // serves a certificate that is valid now (its refreshed volume has reached etcd).
      return ends.every((t) => t > Date.now()) && a?.status === 'True' && c.status?.readyReplicas === 3 && list.length === 3 && list.every(ready) ? true : undefined;
    }, { timeoutMs: 180_000, intervalMs: 100 });
    expect(recovered).toBe(true);
    const restarted = (await pods()).filter((p) => uids.get(p.metadata!.name!) !== p.metadata!.uid).map((p) => p.metadata!.name);
    console.log(`operator back -> every leaf reissued and Available: ${Date.now() - back} ms; Available seen: ${seen.join(' -> ')}; pods recreated: ${restarted.length}`);
    expect(restarted).toEqual([]);
    // Until a member's refreshed volume reaches etcd (about a second here) it still serves its
    // expired server certificate, which the operator (and every client) refuses: that is said as
    // Available=Unknown/CertificatesRefused, never as a lost quorum, and pages nobody.
    const lostAfter = (await quorumLost()) - lostBefore;
    console.log(`QuorumLost events after the return: ${lostAfter}`);
    expect(lostAfter).toBe(0);
    expect(seen.filter((s) => s.endsWith('/QuorumLost'))).toEqual([]);
    // The reissued client certificate works for etcdctl too, once every member serves its new
    // server certificate (its pod's Ready comes from plain-HTTP probes, which say nothing of TLS;
    // on a loaded machine a refreshed volume reached etcd after this line had run: clean-clone CI).
    const health = await env.waitFor('etcdctl to find every member healthy', async () => {
      const out = await env.etcdctl(ns, name, ['endpoint', 'health', '--cluster']).catch(() => undefined);
      return out && /is healthy/.test(out) ? out : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1_000 });
    expect(health).toMatch(/is healthy/);
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    const report = await checker.stop();
    console.log(`checker: ${JSON.stringify(report)}`);
    expect(report.lost).toBe(0);
    expect(report.staleReads).toBe(0);
  });
});
