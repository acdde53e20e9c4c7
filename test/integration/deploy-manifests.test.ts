import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject, V1Deployment, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, runKubectl, startControlPlane } from '../harness/control-plane.js';
import { type Overlay, overlayDir, renderOverlay } from '../harness/install.js';
import { operatorServiceAccount, writeServiceAccountKubeconfig } from '../harness/service-account.js';
import { waitFor } from '../harness/wait.js';

const crdFile = 'etcd.operator.dev_etcdclusters.yaml';
const overlays: Overlay[] = ['cluster-wide', 'namespaced'];

function rulesOf(objects: KubernetesObject[], kind: string, name: string): V1PolicyRule[] {
  const role = objects.find((o): o is V1Role => o.kind === kind && o.metadata?.name === name);
  if (!role) throw new Error(`no ${kind} ${name}`);
  return role.rules ?? [];
}

// The kustomize install against a real API server: every overlay passes server-side validation,
// the cluster-wide one really installs, and its operator pods are admitted in the restricted
// namespace by the ReplicaSet controller (the same path a real cluster takes).
describe('deploy/ manifests', () => {
  let cp: ControlPlane;
  const rendered = new Map<Overlay, KubernetesObject[]>();

  beforeAll(async () => {
    cp = await startControlPlane('deploy-manifests');
    for (const overlay of overlays) rendered.set(overlay, await renderOverlay(cp, overlay));
  });
  afterAll(async () => cp?.stop());

  it.each([crdFile, 'etcd.operator.dev_etcdbackups.yaml'])('ships the CRD %s of crds/, byte for byte', (file) => {
    const want = readFileSync(join(repoRoot, 'crds', file), 'utf8');
    expect(readFileSync(join(repoRoot, 'deploy', 'base', 'crd', file), 'utf8')).toBe(want);
    expect(readFileSync(join(repoRoot, 'charts', 'etcd-operator', 'crds', file), 'utf8')).toBe(want);
  });

  it('grants the same manager rules in both modes, and no wildcard anywhere', () => {
    const clusterWide = rulesOf(rendered.get('cluster-wide')!, 'ClusterRole', 'etcd-operator-manager');
    const namespaced = rulesOf(rendered.get('namespaced')!, 'Role', 'etcd-operator-manager');
    expect(namespaced).toEqual(clusterWide);
    for (const objects of rendered.values()) {
      for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole') as V1Role[]) {
        for (const rule of role.rules ?? []) {
          expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs], `${role.metadata?.name}`).not.toContain('*');
        }
      }
    }
  });

  it('names the same Lease in the Deployment flags and in the leader-election Role', () => {
    for (const objects of rendered.values()) {
      const deployment = objects.find((o): o is V1Deployment => o.kind === 'Deployment')!;
      const id = deployment.spec!.template.spec!.containers[0]!.args!.find((a) => a.startsWith('--leader-election-id='))!.split('=')[1];
      const named = rulesOf(objects, 'Role', 'etcd-operator-leader-election').find((r) => r.resourceNames);
      expect(named?.resourceNames).toEqual([id]);
    }
  });

  it.each(overlays)('passes kubectl apply --dry-run=server -k deploy/overlays/%s', async (overlay) => {
    // A dry run creates nothing, so the namespaces its objects live in must exist already.
    for (const ns of ['etcd-operator-system', 'etcd-demo']) await cp.kubectl(['create', 'namespace', ns, '--save-config']);
    const dry = await cp.kubectl(['apply', '--dry-run=server', '-k', overlayDir(overlay)]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('deployment.apps/etcd-operator created (server dry run)');
  });

  it('installs cluster-wide for real, and the ReplicaSet controller creates both operator pods in the restricted namespace', async () => {
    const apply = await cp.kubectl(['apply', '-k', overlayDir('cluster-wide')]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toBe('');
    const ns = JSON.parse((await cp.kubectl(['get', 'namespace', 'etcd-operator-system', '-o', 'json'])).stdout) as KubernetesObject;
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const pods = await waitFor('two operator pods', async () => {
      const res = await cp.kubectl(['get', 'pods', '-n', 'etcd-operator-system', '-l', 'app.kubernetes.io/name=etcd-operator', '-o', 'name']);
      const names = res.stdout.split('\n').filter(Boolean);
      return names.length === 2 ? names : undefined;
    });
    expect(pods).toHaveLength(2);
    const events = await cp.kubectl(['get', 'events', '-n', 'etcd-operator-system', '--field-selector=reason=FailedCreate', '-o', 'name']);
    expect(events.stdout).toBe('');
  });

  it('lets the cluster-wide ServiceAccount watch EtcdClusters and write children in any namespace, and nothing cluster-scoped', async () => {
    const kubeconfig = await writeServiceAccountKubeconfig(cp, operatorServiceAccount);
    const can = async (...args: string[]) => (await runKubectl(kubeconfig, ['auth', 'can-i', ...args])).stdout.trim();
    expect(await can('watch', 'etcdclusters.etcd.operator.dev', '--all-namespaces')).toBe('yes');
    expect(await can('list', 'etcdclusters.etcd.operator.dev', '-n', 'some-team')).toBe('yes');
    expect(await can('patch', 'statefulsets.apps', '-n', 'some-team')).toBe('yes');
    expect(await can('get', 'secrets', '-n', 'some-team')).toBe('yes');
    expect(await can('list', 'nodes')).toBe('no');
    // Volume growth reads the claims' StorageClass (and nothing else cluster-scoped).
    expect(await can('get', 'storageclasses.storage.k8s.io')).toBe('yes');
    expect(await can('list', 'storageclasses.storage.k8s.io')).toBe('no');
    expect(await can('patch', 'persistentvolumeclaims', '-n', 'some-team')).toBe('yes');
    expect(await can('delete', 'statefulsets.apps', '-n', 'some-team')).toBe('yes');
    expect(await can('update', 'secrets', '-n', 'some-team')).toBe('no');
    expect(await can('delete', 'secrets', '-n', 'some-team')).toBe('no');
    expect(await can('delete', 'etcdclusters.etcd.operator.dev', '-n', 'some-team')).toBe('no');
    expect(await can('create', 'clusterroles.rbac.authorization.k8s.io')).toBe('no');
    // A real request with the token, not only the authorizer's opinion.
    const list = await runKubectl(kubeconfig, ['get', 'etcdclusters.etcd.operator.dev', '--all-namespaces']);
    expect(list.code, list.stderr).toBe(0);
  });
});
