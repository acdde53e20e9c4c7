import { join } from 'node:path';
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { AdminPool } from '../../src/controller/admin-pool.js';
import { EtcdClusterReconciler } from '../../src/controller/reconcile.js';
import { InformerCache } from '../../src/runtime/cache.js';
import { realClock } from '../../src/runtime/clock.js';
import type { PassContext } from '../../src/runtime/reconciler.js';
import { membershipKeys } from '../../src/resources/membership-config.js';
import { memberPeerUrl, names } from '../../src/resources/names.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { FakeEtcdAdmin } from '../unit/etcd/fake.js';
import { CountingWriter } from './counting-writer.js';

// The reconciler against a real API server, one pass at a time, with an in-memory etcd whose
// learner add is refused the way a young cluster refuses it ("unhealthy cluster" for ~5 s after a
// member connected). Each refused pass is retried; the membership ConfigMap it announces must not
// be written again on every retry, since each write wakes the controller for another pass.
describe('EtcdCluster reconciler: a refused learner add', () => {
  const ns = 'default';
  const name = 'grow';
  const ref = { namespace: ns, name };
  const cmName = names.membershipConfig(ref);
  const ip = (ordinal: number) => `10.11.0.${ordinal + 1}`;
  let cp: ControlPlane;
  let cache: InformerCache;
  let writer: CountingWriter;
  let reconciler: EtcdClusterReconciler;
  let admins: AdminPool;
  const fake = new FakeEtcdAdmin([0, 1, 2].map((o) => ({ name: names.member(ref, o), peerURL: memberPeerUrl(ref, o), clientURL: `https://${ip(o)}:2379` })));
  fake.close = () => undefined;
  const ctx: PassContext = { log: createLogger('error'), passId: 'test', signal: new AbortController().signal };

  beforeAll(async () => {
    cp = await startControlPlane('controller-membership-retry');
    const crd = await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    expect(crd.code, crd.stderr).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    const kc = cp.kubeConfig();
    cache = new InformerCache({ kc, namespaces: [], log: ctx.log });
    cache.start();
    await cache.waitForSync();
    admins = new AdminPool(() => fake);
    writer = new CountingWriter(kc);
    reconciler = new EtcdClusterReconciler({ cache, kc, writer, admins, clock: realClock, clusterDomain: 'cluster.local', pvcs: () => [] });
  });
  afterAll(async () => {
    await cache?.stop();
    await cp?.stop();
  });

  const kubectl = async (...args: string[]) => {
    const res = await cp.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  };
  const membership = async () => JSON.parse(await kubectl('get', 'configmap', cmName, '-n', ns, '-o', 'json')) as V1ConfigMap;

  /** One pass once the cache has seen the cluster's and the ConfigMap's latest versions; its writes. */
  async function pass(): Promise<string[]> {
    type Items = { items: { kind: string; metadata: { name: string; resourceVersion: string } }[] };
    const rvs = JSON.parse(await kubectl('get', 'configmap,statefulset', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json')) as Items;
    rvs.items.push(JSON.parse(await kubectl('get', 'etcdcluster', name, '-n', ns, '-o', 'json')) as Items['items'][number]);
    await waitFor('cache to catch up', () => rvs.items.every((i) => Number(cache.get(i.kind as 'ConfigMap', ns, i.metadata.name)?.metadata?.resourceVersion ?? 0) >= Number(i.metadata.resourceVersion)));
    writer.writes.length = 0;
    await reconciler.reconcile(`${ns}/${name}`, ctx);
    return [...writer.writes];
  }
  const membershipWrites = (writes: string[]) => writes.filter((w) => w === `apply ConfigMap/${cmName}`);

  it('announces the learner once and writes nothing more while etcd refuses the add', async () => {
    const manifest = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name, namespace: ns }, spec: { replicas: 3, version: '3.6.16', storage: { size: '1Gi' } } };
    const apply = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    expect(apply.code, apply.stderr).toBe(0);
    await waitFor('cluster in the cache', () => cache.get('EtcdCluster', ns, name));
    for (let i = 0; i < 3; i++) await pass();
    // No kubelet runs here: give the StatefulSet controller's pods the addresses the fake members answer on.
    await waitFor('3 member pods', async () => (JSON.parse(await kubectl('get', 'pods', '-n', ns, '-o', 'json')) as { items: V1Pod[] }).items.length === 3);
    for (let o = 0; o < 3; o++) await kubectl('patch', 'pod', names.member(ref, o), '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: ip(o), podIPs: [{ ip: ip(o) }] } }));
    await waitFor('pod IPs in the cache', () => [0, 1, 2].every((o) => (cache.get('Pod', ns, names.member(ref, o)) as V1Pod | undefined)?.status?.podIP));
    let settled = false;
    for (let i = 0; i < 10 && !settled; i++) settled = membershipWrites(await pass()).length === 0 && (await membership()).data?.[membershipKeys.initialClusterState] === 'existing';
    expect(settled).toBe(true);

    await kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 5 } }));
    await waitFor('the new spec in the cache', () => (cache.get('EtcdCluster', ns, name) as EtcdCluster | undefined)?.spec.replicas === 5);
    // The pods of the two members to add start first, to wait in their start guards.
    const ahead = await pass();
    expect(ahead).toContain('event StatefulSetScaled');
    expect(membershipWrites(ahead)).toEqual([]);
    const refusals = 6;
    for (let i = 0; i < refusals; i++) fake.failNext('memberAddLearner', 'UnhealthyCluster');
    const before = (await membership()).metadata!.resourceVersion!;
    const perPass: number[] = [];
    for (let i = 0; i < refusals; i++) perPass.push(membershipWrites(await pass()).length);
    const announced = await membership();
    console.log(`membership ConfigMap writes in ${refusals} refused passes: ${JSON.stringify(perPass)}; resourceVersion ${before} -> ${announced.metadata!.resourceVersion}`);
    // The first pass announces the member to be added; the refusals after it change nothing.
    expect(perPass.reduce((a, b) => a + b, 0)).toBe(1);
    expect(announced.data?.[membershipKeys.initialCluster]).toContain(`${names.member(ref, 3)}=`);
    expect(announced.data?.[membershipKeys.learner]).toBeUndefined();

    // etcd accepts the add on the next pass: the learner and its record are written at once.
    const writes = await pass();
    expect(writes).toContain('event MemberAdded');
    expect(JSON.parse((await membership()).data?.[membershipKeys.learner] ?? '{}')).toMatchObject({ ordinal: 3 });
  });
});
