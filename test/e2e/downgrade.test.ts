import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// A 3-member cluster on 3.6.16 downgraded to 3.5.35 through etcd's downgrade API with writes
// running: enabled, data migrated, members rolled leader last; and a downgrade cancelled by
// going back to 3.6 before any member moved.
describe('downgrade 3.6 -> 3.5', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const from = '3.6.16';
  const to = '3.5.35';

  const podsOf = async (name: string) => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json')) as { items: V1Pod[] }).items;
  /** The Downgrade* events of a cluster, oldest first, as `Reason: message`. */
  const downgradeEvents = async (name: string) =>
    (JSON.parse(await env.kubectl('get', 'events', '-n', ns, '-o', 'json')) as { items: { reason?: string; message?: string; involvedObject: { name?: string }; firstTimestamp?: string }[] }).items
      .filter((e) => e.involvedObject.name === name && e.reason?.startsWith('Downgrade'))
      .map((e) => `${e.reason}: ${e.message}`);
  const progressing = async (name: string) => (await env.cluster(ns, name)).status?.conditions?.find((x) => x.type === 'Progressing');

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-downgrade');
    await env.startOperator();
    await env.createCluster(ns, 'dg', { version: from });
    checker = await env.checker(ns, 'dg');
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('downgrades every member to 3.5 and stays available', async () => {
    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', 'dg', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: to } }));
    const phases = new Set<string>();
    const cluster = await env.waitFor('every member on 3.5', async () => {
      const p = await progressing('dg');
      if (p?.reason === 'Downgrading' && !phases.has(p.message ?? '')) {
        phases.add(p.message ?? '');
        console.log(`+${Date.now() - started} ms ${p.reason}: ${p.message}`);
      }
      const c = await env.cluster(ns, 'dg');
      return (c.status?.members ?? []).length === 3 && c.status!.members!.every((m) => m.version === to) ? c : undefined;
    }, { timeoutMs: 300_000, intervalMs: 250 });
    const converged = await env.waitConverged(ns, 'dg', 3);
    const events = await downgradeEvents('dg');
    console.log(`downgraded 3 members in ${Date.now() - started} ms; events:\n${events.join('\n')}`);
    expect(cluster.status!.members!.every((m) => m.version === to)).toBe(true);
    expect(converged.status!.currentVersion).toBe(to);
    expect(converged.status!.conditions!.find((c) => c.type === 'Available')?.status).toBe('True');
    for (const pod of await podsOf('dg')) expect(pod.spec!.containers.find((c) => c.name === 'etcd')!.image).toContain(`v${to}`);
    expect(events.filter((e) => e.startsWith('DowngradeEnabled'))).toHaveLength(1);
    expect(events.filter((e) => e.startsWith('DowngradeCancelled'))).toEqual([]);
  });

  it('lost no acknowledged write and served no stale read', async () => {
    // The downgrade takes about 20 s on this machine: the checker acknowledges a few writes a second.
    await expectNoLoss(checker);
  });

  it('cancels the downgrade when spec.version goes back before any member moved', async () => {
    const name = 'dgc';
    await env.createCluster(ns, name, { version: from });
    const before = (await podsOf(name)).map((p) => p.metadata!.uid).sort();
    // The operator dies right after etcd accepted the enable: no member has moved when the
    // user goes back to 3.6, and the operator that comes back cancels.
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-downgrade-enable' });
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: to } }));
    await env.waitFor('the operator to crash after enabling the downgrade', () => !crashing.process.running(), { timeoutMs: 120_000 });
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: from } }));
    await env.startOperator();
    await env.waitFor('the downgrade to be cancelled', async () => (await downgradeEvents(name)).some((e) => e.startsWith('DowngradeCancelled')), { timeoutMs: 60_000 });
    expect((await podsOf(name)).map((p) => p.metadata!.uid).sort()).toEqual(before);
    const cluster = await env.waitConverged(ns, name, 3);
    console.log(`cancelled; events:\n${(await downgradeEvents(name)).join('\n')}`);
    expect(cluster.status!.members!.every((m) => m.version === from)).toBe(true);
  });
});
