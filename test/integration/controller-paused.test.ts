import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { AdminPool } from '../../src/controller/admin-pool.js';
import { EtcdClusterReconciler } from '../../src/controller/reconcile.js';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { InformerCache } from '../../src/runtime/cache.js';
import { type Clock, realClock } from '../../src/runtime/clock.js';
import type { PassContext } from '../../src/runtime/reconciler.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { CountingWriter } from './counting-writer.js';

const day = 24 * 3600_000;

// spec.paused means paused for certificates too: no CA minted, no leaf issued or renewed, no
// Secret written. Only status, and one event saying so. The reconciler runs one pass at a time
// against a real API server; no kubelet runs, so etcd never answers (it need not, for this).
describe('a paused EtcdCluster gets no certificate written', () => {
  let cp: ControlPlane;
  let cache: InformerCache;
  let reconciler: EtcdClusterReconciler;
  let admins: AdminPool;
  let writer: CountingWriter;
  /** Days added to the operator's clock, to make certificates fall due. */
  let daysAhead = 0;
  const clock: Clock = { now: () => realClock.now() + daysAhead * day, schedule: (ms, fn) => realClock.schedule(ms, fn) };
  const ns = 'default';
  const log = createLogger('error');
  const ctx: PassContext = { log, passId: 'test', signal: new AbortController().signal };
  const sample = parse(readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8')) as EtcdCluster;

  beforeAll(async () => {
    cp = await startControlPlane('controller-paused');
    const crd = await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    expect(crd.code, crd.stderr).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    const kc = cp.kubeConfig();
    cache = new InformerCache({ kc, namespaces: [], log });
    cache.start();
    await cache.waitForSync();
    admins = new AdminPool((endpoints, tls) => createEtcdAdmin({ endpoints: endpoints.map((e) => e.url), tls, callTimeoutMs: 2_000 }));
    writer = new CountingWriter(kc);
    reconciler = new EtcdClusterReconciler({ cache, kc, writer, admins, clock, clusterDomain: 'cluster.local', pvcs: () => [] });
  });
  afterAll(async () => {
    admins?.closeAll();
    await cache?.stop();
    await cp?.stop();
  });

  async function kubectl(...args: string[]): Promise<string> {
    const res = await cp.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }

  /** resourceVersions of the cluster and its Secrets, by kind/name. */
  async function versions(name: string): Promise<Record<string, string>> {
    type Item = { kind: string; metadata: { name: string; resourceVersion: string } };
    const items = (JSON.parse(await kubectl('get', 'etcdcluster,statefulset,secret,configmap,service,poddisruptionbudget', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json')) as { items: Item[] }).items;
    items.push(JSON.parse(await kubectl('get', 'etcdcluster', name, '-n', ns, '-o', 'json')) as Item);
    return Object.fromEntries(items.map((i) => [`${i.kind}/${i.metadata.name}`, i.metadata.resourceVersion]));
  }

  /** One pass, once the cache has seen every write made so far; returns the pass's writes. */
  async function pass(name: string): Promise<string[]> {
    const seen = await versions(name);
    await waitFor('cache to catch up', () => Object.entries(seen).every(([k, rv]) => {
      const [kind, n] = k.split('/') as [string, string];
      const cached = cache.get(kind as 'Secret', ns, n)?.metadata?.resourceVersion;
      return cached !== undefined && Number(cached) >= Number(rv);
    }));
    writer.writes.length = 0;
    await reconciler.reconcile(`${ns}/${name}`, ctx);
    return [...writer.writes];
  }

  async function secretVersions(name: string): Promise<Record<string, string>> {
    return Object.fromEntries(Object.entries(await versions(name)).filter(([k]) => k.startsWith('Secret/')));
  }

  async function create(name: string, paused: boolean): Promise<void> {
    const cluster = { ...sample, metadata: { name }, spec: { ...sample.spec, paused } };
    const res = await cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(cluster) });
    expect(res.code, res.stderr).toBe(0);
    await waitFor(`${name} in the cache`, () => cache.get('EtcdCluster', ns, name));
  }

  const secretWrites = (writes: string[]) => writes.filter((w) => w.startsWith('apply Secret/'));

  it('a cluster created paused gets no CA and no certificate, and one Paused event', async () => {
    await create('frozen', true);
    const passes = [await pass('frozen'), await pass('frozen'), await pass('frozen')];
    console.log(`paused from creation, writes per pass: ${JSON.stringify(passes)}`);
    expect(passes.flatMap(secretWrites)).toEqual([]);
    expect(await secretVersions('frozen')).toEqual({});
    // Services and the PodDisruptionBudget are still applied while paused (not certificates: left
    // to the rest of "paused means paused"); no Secret, no other event.
    expect(passes.flat().filter((w) => w.startsWith('event '))).toEqual(['event Paused']);
    expect(passes[2]).toEqual([]);
    const status = (JSON.parse(await kubectl('get', 'etcdcluster', 'frozen', '-n', ns, '-o', 'json')) as EtcdCluster).status!;
    expect(status.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('a running cluster paused while its certificates fall due renews nothing until it is resumed', async () => {
    await create('thawed', false);
    for (let i = 0; i < 10 && (await pass('thawed')).length > 0; i++);
    const before = await secretVersions('thawed');
    expect(Object.keys(before).sort()).toEqual(['Secret/thawed-ca', 'Secret/thawed-client-tls', 'Secret/thawed-operator-client-tls', 'Secret/thawed-peer-tls', 'Secret/thawed-server-tls']);

    await kubectl('patch', 'etcdcluster', 'thawed', '-n', ns, '--type=merge', '-p', '{"spec":{"paused":true}}');
    await waitFor('paused in the cache', () => (cache.get('EtcdCluster', ns, 'thawed') as EtcdCluster | undefined)?.spec.paused === true);
    // Every leaf falls due (365 days of validity, renewed 30 days before expiry), and one is gone.
    daysAhead = 340;
    await kubectl('delete', 'secret', 'thawed-client-tls', '-n', ns);
    const passes = [await pass('thawed'), await pass('thawed'), await pass('thawed')];
    console.log(`paused with certificates due, writes per pass: ${JSON.stringify(passes)}`);
    expect(passes.flatMap(secretWrites)).toEqual([]);
    const kept = Object.fromEntries(Object.entries(before).filter(([k]) => k !== 'Secret/thawed-client-tls'));
    expect(await secretVersions('thawed')).toEqual(kept);
    expect(passes.flat().filter((w) => w === 'event Paused')).toHaveLength(1);

    // Resumed, the same pass renews them: the pause, not the clock, held them back.
    await kubectl('patch', 'etcdcluster', 'thawed', '-n', ns, '--type=merge', '-p', '{"spec":{"paused":false}}');
    await waitFor('resumed in the cache', () => (cache.get('EtcdCluster', ns, 'thawed') as EtcdCluster | undefined)?.spec.paused === false);
    const resumed = await pass('thawed');
    expect(secretWrites(resumed).sort()).toEqual(['apply Secret/thawed-client-tls', 'apply Secret/thawed-operator-client-tls', 'apply Secret/thawed-peer-tls', 'apply Secret/thawed-server-tls']);
  });
});
