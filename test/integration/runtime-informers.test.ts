import { execFile } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import winston from 'winston';
import { InformerCache } from '../../src/runtime/cache.js';
import { Controller } from '../../src/runtime/controller.js';
import { Manager } from '../../src/runtime/manager.js';
import { kubeRequest } from '../../src/runtime/kube-http.js';
import { clusterLabels } from '../../src/resources/names.js';
import { etcdBinary, repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';

const run = promisify(execFile);
const ns = 'runtime-informers';

// The runtime against a real API server: the reconciler below only records which keys reached
// it and what the cache held at that moment.
describe('runtime informers', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  let manager: Manager;
  let cache: InformerCache;
  const passes: { key: string; at: number }[] = [];
  const stats = { failed: 0, expired: 0, listed: 0 };
  let clusterUid = '';

  const reconciledSince = (key: string, since: number) => waitFor(`a pass on ${key}`, () => passes.some((p) => p.key === key && p.at >= since), { timeoutMs: 30_000 });
  const ours = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, namespace: ns, labels: clusterLabels({ name: 'c1', namespace: ns }), ...extra } });

  beforeAll(async () => {
    cp = await startControlPlane('runtime-informers');
    core = cp.kubeConfig().makeApiClient(CoreV1Api);
    expect((await cp.kubectl(['apply', '-f', join(repoRoot, 'crds')])).code).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const created = (await cp.kubeConfig().makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'etcd.operator.dev', version: 'v1alpha1', plural: 'etcdclusters', namespace: ns,
      body: { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'c1' }, spec: { replicas: 3 } },
    })) as { metadata: { uid: string } };
    clusterUid = created.metadata.uid;

    const log = winston.createLogger({ level: 'warn', transports: [new winston.transports.Console()] });
    cache = new InformerCache({
      kc: cp.kubeConfig(), namespaces: [], log,
      observer: { failed: () => stats.failed++, expired: () => stats.expired++, listed: () => stats.listed++ },
      backoff: { baseMs: 200, capMs: 2000, resetAfterMs: 60_000 },
    });
    const reconciler = { reconcile: (key: string) => (passes.push({ key, at: Date.now() }), Promise.resolve({})) };
    manager = new Manager({ cache, controller: new Controller({ name: 'test', reconciler, workers: 2, log }), resyncPeriodMs: 600_000, shutdownTimeoutMs: 5000, log });
    void manager.run();
    await waitFor('informers to sync', () => cache.hasSynced());
  });
  afterAll(async () => {
    await manager?.shutdown();
    await cp?.stop();
  });

  it('maps child events to the owning cluster key, by controller owner reference or by instance label', async () => {
    await reconciledSince(`${ns}/c1`, 0);
    let since = Date.now();
    const owner = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', name: 'c1', uid: clusterUid, controller: true };
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owned', namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'etcd-operator' }, ownerReferences: [owner] } } });
    await reconciledSince(`${ns}/c1`, since);
    expect(cache.get('ConfigMap', ns, 'owned')?.metadata?.ownerReferences?.[0]?.uid).toBe(clusterUid);

    since = Date.now();
    await core.createNamespacedService({ namespace: ns, body: { ...ours('c1-client'), spec: { ports: [{ port: 2379 }] } } });
    await reconciledSince(`${ns}/c1`, since);
    expect(cache.list('Service', ns, { 'app.kubernetes.io/instance': 'c1' }).map((s) => s.metadata?.name)).toEqual(['c1-client']);

    // Not ours: outside the label selector, so never cached and never queued.
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'foreign' } } });
    await waitFor('the foreign ConfigMap to exist', async () => (await core.readNamespacedConfigMap({ name: 'foreign', namespace: ns })).metadata?.uid);
    expect(cache.get('ConfigMap', ns, 'foreign')).toBeUndefined();
    expect(passes.every((p) => p.key === `${ns}/c1`)).toBe(true);
  });

  it('keeps working after the API server is stopped and started again', async () => {
    const failedBefore = stats.failed;
    const kc = cp.kubeConfig();
    // A connection kept from before the outage must not fail the first request after it.
    await kubeRequest(kc, `/api/v1/namespaces/${ns}`);
    await cp.stopApiServer();
    await waitFor('the informers to notice the outage', () => stats.failed > failedBefore, { timeoutMs: 30_000 });
    await cp.startApiServer();
    const since = Date.now();
    await core.createNamespacedConfigMap({ namespace: ns, body: ours('after-restart') });
    await reconciledSince(`${ns}/c1`, since);
    await waitFor('the new ConfigMap in the cache', () => cache.get('ConfigMap', ns, 'after-restart'), { timeoutMs: 30_000 });
    await expect(kubeRequest(kc, `/api/v1/namespaces/${ns}/configmaps/after-restart`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { data: { x: '1' } } })).resolves.toMatchObject({ data: { x: '1' } });
  });

  it('sends its requests over one kept connection to the API server', async () => {
    const kc = cp.kubeConfig();
    const port = Number(new URL(kc.getCurrentCluster()!.server).port);
    const reused: boolean[] = [];
    const onResponse = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      if (request.socket?.remotePort === port && request.path.endsWith('/configmaps/after-restart')) reused.push(request.reusedSocket);
    };
    diagnostics.subscribe('http.client.response.finish', onResponse);
    try {
      for (let i = 0; i < 5; i++) await kubeRequest(kc, `/api/v1/namespaces/${ns}/configmaps/after-restart`, i % 2 ? { method: 'PATCH', contentType: 'application/merge-patch+json', body: { data: { i: String(i) } } } : {});
    } finally {
      diagnostics.unsubscribe('http.client.response.finish', onResponse);
    }
    // Before: [false, false, false, false, false], a TCP connection and a TLS handshake each.
    // The first may find the connection the test before left (the same kubeconfig, loaded again).
    expect(reused).toHaveLength(5);
    expect(reused.slice(1)).toEqual([true, true, true, true]);
  });

  it('lists again after its watch expired (410 Gone) and sees what changed meanwhile', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: ours('doomed') });
    await waitFor('doomed in the cache', () => cache.get('ConfigMap', ns, 'doomed'));
    const expiredBefore = stats.expired;
    const failedBefore = stats.failed;
    await cp.stopApiServer();
    await waitFor('the informers to notice the outage', () => stats.failed > failedBefore, { timeoutMs: 30_000 });
    // Behind the API server's back: delete the object and compact history past every version
    // the informers know, so their next watch can only get 410.
    const etcdctl = (...args: string[]) => run(etcdBinary('etcdctl'), [`--endpoints=${cp.etcdUrl}`, ...args]);
    await etcdctl('del', `/registry/configmaps/${ns}/doomed`);
    const { stdout } = await etcdctl('put', '/runtime-test/bump', 'x', '-w', 'json');
    const revision = String((JSON.parse(stdout) as { header: { revision: number } }).header.revision);
    await etcdctl('compact', revision);
    const since = Date.now();
    await cp.startApiServer();
    await waitFor('a 410 to be handled', () => stats.expired > expiredBefore, { timeoutMs: 30_000 });
    await waitFor('the relist to drop the deleted ConfigMap', () => cache.get('ConfigMap', ns, 'doomed') === undefined, { timeoutMs: 30_000 });
    await reconciledSince(`${ns}/c1`, since);
    const later = Date.now();
    await core.createNamespacedConfigMap({ namespace: ns, body: ours('after-410') });
    await reconciledSince(`${ns}/c1`, later);
  });
});
