import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { KubeWriter } from '../../src/controller/kube-writer.js';
import { sampleCluster } from '../../src/resources/fixtures.js';
import { names } from '../../src/resources/names.js';
import { buildStatefulSet } from '../../src/resources/statefulset.js';
import { buildRestoreClaim } from '../../src/restore/pods.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';

// The claims a restore makes before the StatefulSet exists, under the cluster's retention policy,
// with the real StatefulSet controller and garbage collector. Delete: the claims go with the
// cluster, also when it is deleted before its StatefulSet exists (a restore that failed), and
// once adopted by name the StatefulSet owns them as it owns the claims it makes. Retain: nobody
// owns them, as nobody owns the claims the StatefulSet makes, and they outlive the cluster.
describe('restore claims under the StatefulSet retention policy', () => {
  let cp: ControlPlane;
  let writer: KubeWriter;
  const ns = 'default';

  beforeAll(async () => {
    cp = await startControlPlane('restore-claims');
    const crd = await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    expect(crd.code, crd.stderr).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    writer = new KubeWriter(cp.kubeConfig());
  });
  afterAll(async () => cp?.stop());

  const claim = async (name: string) => JSON.parse((await cp.kubectl(['get', 'pvc', name, '-n', ns, '-o', 'json'])).stdout) as V1PersistentVolumeClaim;
  const owners = (c: V1PersistentVolumeClaim) => (c.metadata?.ownerReferences ?? []).map((o) => `${o.kind}/${o.name}`).sort();

  async function restoredCluster(name: string, retentionPolicy: 'Retain' | 'Delete', withStatefulSet = true): Promise<EtcdCluster> {
    const base = sampleCluster({ storage: { type: 'PersistentVolumeClaim', size: '1Gi', retentionPolicy } });
    const manifest = { apiVersion: base.apiVersion, kind: base.kind, metadata: { name, namespace: ns }, spec: { ...base.spec, replicas: 1 } };
    const res = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    expect(res.code, res.stderr).toBe(0);
    const cluster = JSON.parse((await cp.kubectl(['get', 'etcdcluster', name, '-n', ns, '-o', 'json'])).stdout) as EtcdCluster;
    // As the restore does: the claim first, then (after the restore pods) the StatefulSet.
    await writer.apply(buildRestoreClaim(cluster, 0));
    if (!withStatefulSet) return cluster;
    await writer.apply(buildStatefulSet(cluster, 1, 'hash'));
    await waitFor(`the pod of ${name}`, async () => (await cp.kubectl(['get', 'pod', names.member({ namespace: ns, name }, 0), '-n', ns])).code === 0);
    return cluster;
  }

  it('Delete: the StatefulSet owns the restored claim, as it owns those it makes', async () => {
    await restoredCluster('gone', 'Delete');
    const claimName = names.dataVolumeClaim({ namespace: ns, name: 'gone' }, 0);
    const owned = await waitFor('the claim owned by the StatefulSet', async () => {
      const c = await claim(claimName);
      return owners(c).includes('StatefulSet/gone') ? c : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 }).catch(async (err: unknown) => {
      console.log(`claim after 30 s: ${JSON.stringify((await claim(claimName)).metadata)}`);
      throw err;
    });
    console.log(`Delete: ${claimName} owned by ${owners(owned).join(', ')}`);
    expect(owners(owned)).toEqual(['EtcdCluster/gone', 'StatefulSet/gone']);
    await cp.kubectl(['delete', 'etcdcluster', 'gone', '-n', ns, '--wait=false']);
    await waitFor('the claim deleted with the cluster', async () => (await cp.kubectl(['get', 'pvc', claimName, '-n', ns])).code !== 0, { timeoutMs: 60_000, intervalMs: 500 });
  });

  it('Delete: a cluster deleted before its StatefulSet exists (the restore failed) takes its restore claims', async () => {
    await restoredCluster('failed', 'Delete', false);
    const claimName = names.dataVolumeClaim({ namespace: ns, name: 'failed' }, 0);
    console.log(`Delete, no StatefulSet: owners ${JSON.stringify(owners(await claim(claimName)))}`);
    await cp.kubectl(['delete', 'etcdcluster', 'failed', '-n', ns, '--wait=false']);
    await waitFor('the claim deleted with the cluster', async () => (await cp.kubectl(['get', 'pvc', claimName, '-n', ns])).code !== 0, { timeoutMs: 30_000, intervalMs: 500 });
  });

  it('Retain: the restored claim stays unowned, as the claims the StatefulSet makes', async () => {
    await restoredCluster('kept', 'Retain');
    await new Promise((r) => setTimeout(r, 5_000));
    const c = await claim(names.dataVolumeClaim({ namespace: ns, name: 'kept' }, 0));
    console.log(`Retain: owners ${JSON.stringify(owners(c))}`);
    expect(owners(c)).toEqual([]);
    await cp.kubectl(['delete', 'etcdcluster', 'kept', '-n', ns, '--wait=true']);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await cp.kubectl(['get', 'pvc', c.metadata!.name!, '-n', ns])).code).toBe(0);
  });
});
