import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// Volumes outlive members and clusters (retentionPolicy: Retain, the default). The operator must
// never delete a retained volume on its own, and a cluster recreated under the same name must not
// come back on the old data unless the user adopts it explicitly.
describe('retained volumes and recreated clusters', () => {
  let env: E2eEnvironment;
  const ns = 'default';

  const pvcUid = async (name: string) => {
    const out = await env.kubectl('get', 'pvc', name, '-n', ns, '--ignore-not-found', '-o', 'json');
    return out.trim() ? (JSON.parse(out) as V1PersistentVolumeClaim).metadata?.uid : undefined;
  };
  const condition = (c: EtcdCluster, type: string) => c.status?.conditions?.find((x) => x.type === type);
  const warnings = async (reason: string) => {
    const out = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=EtcdCluster,type=Warning,reason=${reason}`, '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}');
    return out.trim().split('\n').filter(Boolean);
  };
  const apply = async (name: string, replicas: number, annotations: Record<string, string> = {}) => {
    const manifest = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name, namespace: ns, annotations }, spec: { replicas } };
    const res = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    expect(res.code, res.stderr).toBe(0);
  };

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-retained-volumes');
    await env.startOperator();
  });
  afterAll(async () => env?.stop());

  describe('a retained volume of a removed member', () => {
    const name = 'keep';
    let checker: Checker;

    it('scales 3 -> 5 -> 3 with Retain: the removed members leave their PVCs behind', async () => {
      await apply(name, 3);
      await env.waitConverged(ns, name, 3);
      checker = await env.checker(ns, name);
      checker.start();
      await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=5');
      await env.waitConverged(ns, name, 5);
      await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=3');
      await env.waitConverged(ns, name, 3);
      expect(await pvcUid(`data-${name}-3`)).toBeDefined();
      expect(await pvcUid(`data-${name}-4`)).toBeDefined();
    });

    it('scaling to 5 again does not delete the retained PVC: it waits and says what to do', async () => {
      const uid3 = await pvcUid(`data-${name}-3`);
      const started = Date.now();
      await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=5');
      // Either the status names the retained PVC, or (the bug) the PVC is deleted and replaced.
      const outcome = await env.waitFor('the status to name the retained PVC, or the PVC to go', async () => {
        if ((await pvcUid(`data-${name}-3`)) !== uid3) return 'deleted';
        const degraded = condition(await env.cluster(ns, name), 'Degraded');
        return degraded?.status === 'True' && degraded.reason === 'RetainedVolume' ? 'reported' : undefined;
      }, { timeoutMs: 120_000, intervalMs: 250 });
      expect(outcome, `the operator deleted the retained PVC data-${name}-3 on its own`).toBe('reported');
      console.log(`scale 3 -> 5 over a retained PVC -> RetainedVolume reported: ${Date.now() - started} ms`);
      const c = await env.cluster(ns, name);
      expect(condition(c, 'Degraded')!.message).toContain(`data-${name}-3`);
      expect(condition(c, 'Degraded')!.message).toContain('etcd.operator.dev/reclaim');
      expect(condition(c, 'Progressing')).toMatchObject({ status: 'True', reason: 'RetainedVolume' });
      expect(condition(c, 'Available')?.status).toBe('True');
      // For 10 s: the PVC stays, no member is added, and the Warning is sent once.
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        expect(await pvcUid(`data-${name}-3`)).toBe(uid3);
        expect((await env.cluster(ns, name)).status?.members).toHaveLength(3);
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const sent = await warnings('RetainedVolume');
      console.log(`RetainedVolume warnings: ${JSON.stringify(sent)}`);
      expect(sent).toHaveLength(1);
    });

    it('reuses the PVC once annotated for reclaim, and a PVC the user deletes', async () => {
      const uid3 = await pvcUid(`data-${name}-3`);
      const uid4 = await pvcUid(`data-${name}-4`);
      const started = Date.now();
      await env.kubectl('annotate', 'pvc', `data-${name}-3`, '-n', ns, 'etcd.operator.dev/reclaim=true');
      // The next ordinal's retained PVC then blocks in its turn, until the user deletes it.
      await env.waitFor('the status to name the next retained PVC', async () => {
        const degraded = condition(await env.cluster(ns, name), 'Degraded');
        return degraded?.reason === 'RetainedVolume' && degraded.message.includes(`data-${name}-4`);
      }, { timeoutMs: 120_000, intervalMs: 250 });
      const now3 = await pvcUid(`data-${name}-3`);
      expect(now3 === undefined || now3 !== uid3, 'the reclaimed PVC was replaced').toBe(true);
      expect(await pvcUid(`data-${name}-4`)).toBe(uid4);
      await env.kubectl('delete', 'pvc', `data-${name}-4`, '-n', ns, '--wait=false');
      await env.waitConverged(ns, name, 5);
      console.log(`reclaim annotation + PVC deletion -> 5 converged: ${Date.now() - started} ms`);
      const events = await env.eventReasons(ns);
      expect(events).toContain('ReclaimedVolumeDeleted');
    });

    it('lost no acknowledged write and served no stale read', async () => {
      await expectNoLoss(checker);
    });
  });

  describe('an EtcdCluster deleted and created again with the same name', () => {
    const name = 'again';
    let oldClusterId: string;

    const recreate = async (annotations: Record<string, string> = {}) => {
      await env.kubectl('delete', 'etcdcluster', name, '-n', ns, '--wait=true', '--timeout=120s');
      await env.waitFor('the old pods to be gone', async () => (await env.kubectl('get', 'pod,statefulset', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'name')).trim() === '', { timeoutMs: 120_000 });
      await apply(name, 3, annotations);
    };

    it('a first cluster writes data and is deleted; its PVCs stay', async () => {
      await apply(name, 3);
      const c = await env.waitConverged(ns, name, 3);
      oldClusterId = c.status!.clusterID!;
      expect((await env.etcdctl(ns, name, ['put', 'written-by', 'the-old-cluster'])).trim()).toBe('OK');
      await recreate();
      for (const o of [0, 1, 2]) expect(await pvcUid(`data-${name}-${o}`)).toBeDefined();
    });

    it('the new object does not come back Available on the old data: it says why and waits', async () => {
      const started = Date.now();
      const outcome = await env.waitFor('the status to report the old volumes, or the cluster to come back', async () => {
        const c = await env.cluster(ns, name);
        if (condition(c, 'Available')?.status === 'True') return `Available on cluster ${c.status?.clusterID} (the old one is ${oldClusterId})`;
        const degraded = condition(c, 'Degraded');
        return degraded?.status === 'True' && degraded.reason === 'VolumesPredateCluster' ? 'reported' : undefined;
      }, { timeoutMs: 120_000, intervalMs: 250 });
      expect(outcome).toBe('reported');
      console.log(`recreated over old PVCs -> VolumesPredateCluster reported: ${Date.now() - started} ms`);
      const c = await env.cluster(ns, name);
      expect(condition(c, 'Degraded')!.message).toContain(`data-${name}-0`);
      expect(condition(c, 'Degraded')!.message).toContain('etcd.operator.dev/adopt-cluster-id');
      // For 10 s: no StatefulSet, no pod, never Available.
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        expect((await env.kubectl('get', 'pod,statefulset', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'name')).trim()).toBe('');
        expect(condition(await env.cluster(ns, name), 'Available')?.status).not.toBe('True');
        await new Promise((r) => setTimeout(r, 1_000));
      }
      expect(await warnings('VolumesPredateCluster')).toHaveLength(1);
    });

    it('adopting with the wrong cluster ID starts the members but changes nothing: ClusterIDMismatch', async () => {
      await env.kubectl('annotate', 'etcdcluster', name, '-n', ns, 'etcd.operator.dev/adopt-cluster-id=abcdef0123456789');
      const c = await env.waitFor('ClusterIDMismatch', async () => {
        const got = await env.cluster(ns, name);
        return condition(got, 'Degraded')?.reason === 'ClusterIDMismatch' ? got : undefined;
      }, { timeoutMs: 120_000, intervalMs: 250 });
      expect(condition(c, 'Degraded')!.message).toContain(oldClusterId);
      expect(condition(c, 'Available')).toMatchObject({ status: 'False', reason: 'ClusterIDMismatch' });
      expect(c.status?.clusterID ?? '').toBe('');
      expect(await warnings('ClusterIDMismatch')).toHaveLength(1);
    });

    it('adopting the old cluster ID converges on the old data, and the ID is latched', async () => {
      const started = Date.now();
      await env.kubectl('annotate', 'etcdcluster', name, '-n', ns, '--overwrite', `etcd.operator.dev/adopt-cluster-id=${oldClusterId}`);
      const c = await env.waitConverged(ns, name, 3);
      console.log(`adopted -> converged: ${Date.now() - started} ms`);
      expect(c.status!.clusterID).toBe(oldClusterId);
      expect(await env.etcdctl(ns, name, ['get', 'written-by', '--print-value-only'])).toBe('the-old-cluster\n');
    });

    it('recreated again, deleting the old PVCs bootstraps a new, empty cluster', async () => {
      await recreate();
      await env.waitFor('VolumesPredateCluster', async () => condition(await env.cluster(ns, name), 'Degraded')?.reason === 'VolumesPredateCluster', { timeoutMs: 120_000, intervalMs: 250 });
      const started = Date.now();
      await env.kubectl('delete', 'pvc', `data-${name}-0`, `data-${name}-1`, `data-${name}-2`, '-n', ns, '--wait=true', '--timeout=60s');
      const c = await env.waitConverged(ns, name, 3);
      console.log(`old PVCs deleted -> new cluster converged: ${Date.now() - started} ms`);
      expect(c.status!.clusterID).not.toBe(oldClusterId);
      expect(await env.etcdctl(ns, name, ['get', 'written-by', '--print-value-only'])).toBe('');
    });
  });
});
