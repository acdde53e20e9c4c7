import type { V1Deployment, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { sampleCluster } from '../../src/resources/fixtures.js';
import { buildStatefulSet } from '../../src/resources/statefulset.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { renderOverlay } from '../harness/install.js';
import { waitFor } from '../harness/wait.js';

const ns = 'restricted';

function clusterIn(namespace: string, over: Partial<EtcdCluster['spec']> = {}): EtcdCluster {
  const cluster = sampleCluster(over);
  return { ...cluster, metadata: { ...cluster.metadata, namespace } };
}

/** The etcd StatefulSet as the operator builds it, minus the owner reference to a cluster that does not exist here (the garbage collector would delete it). */
function etcdStatefulSet(name: string, over: Partial<EtcdCluster['spec']> = {}): V1StatefulSet {
  const cluster = clusterIn(ns, over);
  const sts = buildStatefulSet({ ...cluster, metadata: { ...cluster.metadata, name } }, 3, 'trust-hash');
  return { ...sts, metadata: { ...sts.metadata, ownerReferences: undefined } };
}

// The PodSecurity admission plugin, on by default in the API server, against the restricted
// profile: the pods the operator runs as and the pods it builds for etcd are admitted, and a
// privileged pod (the negative control) is not.
describe('Pod Security admission (restricted)', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane('deploy-pod-security');
    await cp.kubectl(['create', 'namespace', ns]);
    const label = await cp.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']);
    expect(label.code, label.stderr).toBe(0);
    // Pods name the default ServiceAccount, which admission looks up: wait for its controller.
    await waitFor('default ServiceAccount', async () => (await cp.kubectl(['get', 'serviceaccount', 'default', '-n', ns])).code === 0);
  });
  afterAll(async () => cp?.stop());

  async function createPod(name: string, template: V1PodTemplateSpec): Promise<{ code: number; stderr: string }> {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: template.metadata?.labels }, spec: template.spec };
    return cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) });
  }

  it('refuses a privileged pod (the check is live)', async () => {
    const res = await createPod('privileged', { spec: { containers: [{ name: 'c', image: 'example.invalid/x:1', securityContext: { privileged: true } }] } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('violates PodSecurity "restricted:latest"');
  });

  it('admits a pod from the operator Deployment of deploy/', async () => {
    const deployment = (await renderOverlay(cp, 'cluster-wide')).find((o): o is V1Deployment => o.kind === 'Deployment')!;
    // The ServiceAccount exists only in the operator's namespace; admission of the pod's security does not depend on it.
    const template = { ...deployment.spec!.template, spec: { ...deployment.spec!.template.spec!, serviceAccountName: undefined } };
    const res = await createPod('operator', template);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
  });

  it.each([
    ['PersistentVolumeClaim', {}],
    ['EmptyDir', { storage: { type: 'EmptyDir' as const, size: '1Gi', retentionPolicy: 'Retain' as const } }],
  ])('admits a pod from the etcd StatefulSet template (%s storage)', async (kind, over) => {
    const sts = etcdStatefulSet('x', over);
    const template = sts.spec!.template;
    // The StatefulSet controller adds a volume per claim template, naming the ordinal's claim.
    const claims = (sts.spec!.volumeClaimTemplates ?? []).map((c) => ({ name: c.metadata!.name!, persistentVolumeClaim: { claimName: `${c.metadata!.name}-x-0` } }));
    const res = await createPod(`etcd-${kind.toLowerCase()}`, { ...template, spec: { ...template.spec!, volumes: [...(template.spec!.volumes ?? []), ...claims] } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
  });

  it('lets the StatefulSet controller create all three etcd pods, with no FailedCreate', async () => {
    const sts = etcdStatefulSet('main');
    const res = await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(sts) });
    expect(res.code, res.stderr).toBe(0);
    const pods = await waitFor('three etcd pods', async () => {
      const list = await cp.kubectl(['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=main', '-o', 'name']);
      const names = list.stdout.split('\n').filter(Boolean);
      return names.length === 3 ? names : undefined;
    });
    expect(pods.sort()).toEqual(['pod/main-0', 'pod/main-1', 'pod/main-2']);
    const failed = await cp.kubectl(['get', 'events', '-n', ns, '--field-selector=reason=FailedCreate', '-o', 'jsonpath={.items[*].message}']);
    expect(failed.stdout).toBe('');
  });
});
