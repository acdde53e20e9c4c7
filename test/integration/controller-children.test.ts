import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { AdminPool } from '../../src/controller/admin-pool.js';
import { EtcdClusterReconciler } from '../../src/controller/reconcile.js';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { InformerCache } from '../../src/runtime/cache.js';
import { realClock } from '../../src/runtime/clock.js';
import type { PassContext } from '../../src/runtime/reconciler.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { defaultOperatorImage } from '../../src/version.js';
import { CountingWriter } from './counting-writer.js';


// The reconciler against a real API server, one pass at a time. No kubelet runs here, so etcd
// never answers: this proves the objects a new cluster gets and that a quiet pass writes nothing.
describe('EtcdCluster reconciler: children', () => {
  let cp: ControlPlane;
  let cache: InformerCache;
  let reconciler: EtcdClusterReconciler;
  let admins: AdminPool;
  let writer: CountingWriter;
  const ns = 'default';
  const log = createLogger('error');
  const ctx: PassContext = { log, passId: 'test', signal: new AbortController().signal };

  beforeAll(async () => {
    cp = await startControlPlane('controller-children');
    const crd = await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    expect(crd.code, crd.stderr).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    const kc = cp.kubeConfig();
    cache = new InformerCache({ kc, namespaces: [], log });
    cache.start();
    await cache.waitForSync();
    admins = new AdminPool((endpoints, tls) => createEtcdAdmin({ endpoints: endpoints.map((e) => e.url), tls, callTimeoutMs: 2_000 }));
    writer = new CountingWriter(kc);
    reconciler = new EtcdClusterReconciler({ cache, kc, writer, admins, clock: realClock, clusterDomain: 'cluster.local', memberInitImage: defaultOperatorImage, pvcs: () => [] });
  });
  afterAll(async () => {
    admins?.closeAll();
    await cache?.stop();
    await cp?.stop();
  });

  /** resourceVersions of everything the cluster owns, and of the cluster itself. */
  async function versions(): Promise<Record<string, string>> {
    const res = await cp.kubectl(['get', 'etcdcluster,statefulset,service,secret,configmap,poddisruptionbudget', '-n', ns, '-l', 'app.kubernetes.io/instance=example', '-o', 'json']);
    const cluster = await cp.kubectl(['get', 'etcdcluster', 'example', '-n', ns, '-o', 'json']);
    const items = [...(JSON.parse(res.stdout) as { items: { kind: string; metadata: { name: string; resourceVersion: string } }[] }).items, JSON.parse(cluster.stdout) as { kind: string; metadata: { name: string; resourceVersion: string } }];
    return Object.fromEntries(items.map((i) => [`${i.kind}/${i.metadata.name}`, i.metadata.resourceVersion]));
  }

  /** Runs passes until one writes nothing. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      writer.writes.length = 0;
      await reconciler.reconcile(`${ns}/example`, ctx);
      if (writer.writes.length === 0) return;
      const after = await versions();
      // Let the informers catch up with this pass's writes before the next pass reads them. The
      // real controllers keep writing too (StatefulSet and PodDisruptionBudget status), so the
      // cache may already hold a newer version than `after`: wait for "at least", not "equal".
      // (resourceVersions are opaque to clients; comparing them is fine for a test against an
      // etcd-backed API server, whose versions are etcd revisions.)
      await waitFor('cache to catch up', () => Object.entries(after).every(([k, rv]) => {
        const [kind, name] = k.split('/') as [string, string];
        const seen = cache.get(kind as 'StatefulSet', ns, name)?.metadata?.resourceVersion;
        return seen !== undefined && Number(seen) >= Number(rv);
      }));
    }
    throw new Error('passes never settled');
  }

  it('applies the sample with the real kubectl and creates the children on the first passes', async () => {
    const sample = readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8');
    const name = (parse(sample) as EtcdCluster).metadata.name;
    expect(name).toBe('example');
    const apply = await cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: sample });
    expect(apply.code, apply.stderr).toBe(0);
    await waitFor('cluster in the cache', () => cache.get('EtcdCluster', ns, 'example'));
    await settle();

    const secrets = await cp.kubectl(['get', 'secrets', '-n', ns, '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(secrets.stdout.split(' ').sort()).toEqual(['example-ca', 'example-client-tls', 'example-operator-client-tls', 'example-peer-tls', 'example-server-tls']);
    const sts = JSON.parse((await cp.kubectl(['get', 'statefulset', 'example', '-n', ns, '-o', 'json'])).stdout) as { spec: { replicas: number; serviceName: string }; metadata: { ownerReferences: { kind: string }[] } };
    expect(sts.spec).toMatchObject({ replicas: 3, serviceName: 'example-peer' });
    expect(sts.metadata.ownerReferences[0]!.kind).toBe('EtcdCluster');
    const cm = JSON.parse((await cp.kubectl(['get', 'configmap', 'example-membership', '-n', ns, '-o', 'json'])).stdout) as { data: Record<string, string> };
    expect(cm.data['initial-cluster-state']).toBe('new');
    expect(cm.data['initial-cluster']).toBe(
      [0, 1, 2].map((i) => `example-${i}=https://example-${i}.example-peer.default.svc.cluster.local:2380`).join(','),
    );
    const services = await cp.kubectl(['get', 'services', '-n', ns, '-l', 'app.kubernetes.io/instance=example', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(services.stdout.split(' ').sort()).toEqual(['example-client', 'example-peer']);
    // No member answers here: the budget allows no disruption until a pass sees the voters.
    const pdb = await cp.kubectl(['get', 'pdb', 'example', '-n', ns, '-o', 'jsonpath={.spec.maxUnavailable}']);
    expect(pdb.stdout).toBe('0');
    // The real StatefulSet controller made the pods and their claims.
    await waitFor('3 member pods', async () => (await cp.kubectl(['get', 'pods', '-n', ns, '-o', 'name'])).stdout.trim().split('\n').length === 3);
  });

  it('reports status with conditions carrying observedGeneration', async () => {
    const api = cp.kubeConfig().makeApiClient(CustomObjectsApi);
    const cluster = (await api.getNamespacedCustomObject({ group: 'etcd.operator.dev', version: 'v1alpha1', namespace: ns, plural: 'etcdclusters', name: 'example' })) as EtcdCluster;
    const status = cluster.status!;
    expect(status.selector).toBe('app.kubernetes.io/name=etcd,app.kubernetes.io/instance=example,app.kubernetes.io/component=member');
    expect(status.clientEndpoint).toBe('https://example-client.default.svc.cluster.local:2379');
    expect(status.caSecretName).toBe('example-ca');
    expect(status.clientSecretName).toBe('example-client-tls');
    const available = status.conditions!.find((c) => c.type === 'Available')!;
    expect(available).toMatchObject({ status: 'False', observedGeneration: cluster.metadata.generation });
    expect(status.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'Bootstrapping' });
  });

  it('writes nothing on a pass with nothing to change', async () => {
    // The StatefulSet controller made pods since the first test settled, and status reports them:
    // settle again on the world as it is now, then one more pass must write nothing.
    await waitFor('StatefulSet status to count 3 pods', () => cache.get('StatefulSet', ns, 'example')?.status?.replicas === 3);
    await settle();
    // Counted at the writer: the StatefulSet and disruption controllers may still write status.
    writer.writes.length = 0;
    await reconciler.reconcile(`${ns}/example`, ctx);
    expect(writer.writes).toEqual([]);
  });
});
