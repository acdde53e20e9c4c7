import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue } from '../../src/pki/x509.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, processesUsing, startControlPlane } from '../harness/control-plane.js';
import { httpGet } from '../harness/http.js';
import { isAlive } from '../harness/process.js';
import { waitFor } from '../harness/wait.js';

// Proves the harness runs the real thing: CRDs, kubectl, the StatefulSet controller, the garbage
// collector, authentication, and that it leaves nothing behind.
describe('control-plane harness', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  const ns = 'harness-test';

  beforeAll(async () => {
    cp = await startControlPlane('harness-test');
    core = cp.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });
  afterAll(async () => cp?.stop());

  it('establishes the CRDs from crds/ and the real kubectl reads them', async () => {
    const apply = await cp.kubectl(['apply', '-f', join(repoRoot, 'crds')]);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    const get = await cp.kubectl(['get', 'crd', 'etcdclusters.etcd.operator.dev', '-o', 'jsonpath={.spec.names.kind}']);
    expect(get.stdout).toBe('EtcdCluster');
    const version = await cp.kubectl(['version', '-o', 'json']);
    const parsed = JSON.parse(version.stdout) as { serverVersion: { gitVersion: string } };
    expect(parsed.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('gives a new namespace its default service account (service-account controller)', async () => {
    await waitFor('default service account', async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: ns })).metadata?.name);
  });

  it('creates the Pods of a StatefulSet (StatefulSet controller)', async () => {
    const apps = cp.kubeConfig().makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          podManagementPolicy: 'Parallel',
          serviceName: 'web',
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'example.invalid/none:1' }] } },
        },
      },
    });
    const pods = await waitFor('two StatefulSet pods', async () => {
      const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      return list.items.length === 2 ? list.items : undefined;
    });
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['web-0', 'web-1']);
    expect(pods.every((p) => p.metadata?.ownerReferences?.[0]?.kind === 'StatefulSet')).toBe(true);
  });

  it('garbage-collects an owned ConfigMap when its owner goes (garbage collector)', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' } } });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns });
    await waitFor('owned ConfigMap to be collected', async () => {
      const list = await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name=owned' });
      return list.items.length === 0;
    });
  });

  it('refuses requests without a client certificate or with one from another CA', async () => {
    const anonymous = await httpGet(`${cp.server}/api/v1/namespaces`, { ca: cp.ca.certPem });
    expect(anonymous.status).toBe(401);
    const now = Date.now();
    const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000) };
    const otherCa = await issue({ commonName: 'other-ca', isCA: true, ...validity, serialHex: '01' });
    const stranger = await issue({ commonName: 'x', organizations: ['system:masters'], usages: ['clientAuth'], ...validity, serialHex: '02' }, otherCa);
    expect(new X509Certificate(stranger.certPem).checkIssued(new X509Certificate(otherCa.certPem))).toBe(true);
    const forged = await httpGet(`${cp.server}/api/v1/namespaces`, { ca: cp.ca.certPem, cert: stranger.certPem, key: stranger.keyPem });
    expect(forged.status).toBe(401);
  });

  it('stops every process it started and removes its directory', async () => {
    const pids = cp.pids();
    expect(pids.length).toBe(3);
    const dir = cp.dir;
    await cp.stop();
    const stillAlive = pids.filter(isAlive);
    expect(stillAlive).toEqual([]);
    expect(processesUsing(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
