import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { withDefaults } from '../../src/api/defaults.js';
import { crdName } from '../../src/api/group.js';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';

// The CRD as users meet it through the real kubectl: defaults, printer columns, short name and
// category, the scale and status subresources, and pruning of unknown fields.
describe('EtcdCluster CRD', () => {
  let cp: ControlPlane;
  const ns = 'api-crd';
  const samplePath = join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml');

  const kubectl = async (args: string[], input?: string) => cp.kubectl([`--namespace=${ns}`, ...args], input === undefined ? {} : { input });
  const read = async (name: string): Promise<EtcdCluster> => {
    const got = await kubectl(['get', 'etcdcluster', name, '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    return JSON.parse(got.stdout) as EtcdCluster;
  };
  const manifest = (name: string, spec: object) => stringify({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name }, spec });

  beforeAll(async () => {
    cp = await startControlPlane('api-crd');
    expect((await cp.kubectl(['create', 'namespace', ns])).code).toBe(0);
    const apply = await cp.kubectl(['apply', '-f', join(repoRoot, 'crds')]);
    expect(apply.code, apply.stderr).toBe(0);
    await cp.waitForCrd(crdName);
  });
  afterAll(async () => cp?.stop());

  it('applies the sample and returns it with every default filled in', async () => {
    const apply = await kubectl(['apply', '-f', samplePath]);
    expect(apply.stderr).toBe('');
    expect(apply.stdout.trim()).toBe('etcdcluster.etcd.operator.dev/example created');
    const sample = parse(readFileSync(samplePath, 'utf8')) as EtcdCluster;
    const stored = await read('example');
    expect(stored.spec).toEqual(withDefaults(sample.spec));
    expect(stored.spec.tls).toEqual({ enabled: true, certificateValidity: '8760h', renewBefore: '720h', caValidity: '87600h' });
    expect(stored.spec.storage).toEqual({ type: 'PersistentVolumeClaim', size: '8Gi', retentionPolicy: 'Retain' });
    expect(stored.spec.paused).toBe(false);
  });

  it('fills an empty spec with the defaults the TypeScript mirror computes', async () => {
    expect((await kubectl(['apply', '-f', '-'], manifest('minimal', {}))).code).toBe(0);
    expect((await read('minimal')).spec).toEqual(withDefaults({}));
    expect((await read('minimal')).spec.version).toBe('3.6.16');
  });

  it('prints replicas, ready, version, leader, available, the problem and age', async () => {
    const status = { replicas: 3, readyReplicas: 2, currentVersion: '3.6.16', leader: 'example-1', selector: 'app=x' };
    const conditions = [
      { type: 'Available', status: 'True', reason: 'QuorumHealthy', message: '2 of 3 members healthy', lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'Degraded', status: 'True', reason: 'MemberUnhealthy', message: 'example-2: not answering', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ];
    const patch = await kubectl(['patch', 'etcdcluster', 'example', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { ...status, conditions } })]);
    expect(patch.code, patch.stderr).toBe(0);
    const table = await kubectl(['get', 'etcdclusters']);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n').map((line) => line.trim().split(/\s{2,}/));
    expect(header).toEqual(['NAME', 'REPLICAS', 'READY', 'VERSION', 'LEADER', 'AVAILABLE', 'PROBLEM', 'LAST BACKUP', 'AGE']);
    expect(rows.find((r) => r[0] === 'example')?.slice(0, 7)).toEqual(['example', '3', '2', '3.6.16', 'example-1', 'True', 'MemberUnhealthy']);
    const wide = await kubectl(['get', 'etcd', 'example', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/AGE\s+DESIRED VERSION$/);
  });

  it('is listed under its short name and in the all category', async () => {
    expect((await kubectl(['get', 'etcd', '-o', 'name'])).stdout).toContain('etcdcluster.etcd.operator.dev/example');
    expect((await kubectl(['get', 'all', '-o', 'name'])).stdout).toContain('etcdcluster.etcd.operator.dev/example');
  });

  it('scales through the scale subresource and validates the new count like any change', async () => {
    const up = await kubectl(['scale', 'etcdcluster/example', '--replicas=5']);
    expect(up.code, up.stderr).toBe(0);
    expect((await read('example')).spec.replicas).toBe(5);
    const even = await kubectl(['scale', 'etcdcluster/example', '--replicas=4']);
    expect(even.code).not.toBe(0);
    expect(even.stderr).toContain('replicas must be one of 1, 3, 5, 7, 9: etcd needs a majority of members (a quorum) to work');
    expect((await read('example')).spec.replicas).toBe(5);
    // The selector an autoscaler reads comes from status.selector.
    const scale = await cp.kubectl(['get', '--raw', `/apis/etcd.operator.dev/v1alpha1/namespaces/${ns}/etcdclusters/example/scale`]);
    expect(JSON.parse(scale.stdout)).toMatchObject({ kind: 'Scale', spec: { replicas: 5 }, status: { replicas: 3, selector: 'app=x' } });
  });

  it('keeps status out of spec writes and spec out of status writes', async () => {
    const before = await read('example');
    const status = await kubectl(['patch', 'etcdcluster', 'example', '--subresource=status', '--type=merge', '-p', '{"spec":{"replicas":1},"status":{"readyReplicas":3}}']);
    expect(status.code, status.stderr).toBe(0);
    const after = await read('example');
    expect(after.spec.replicas).toBe(before.spec.replicas);
    expect(after.status?.readyReplicas).toBe(3);
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it('refuses unknown fields under strict validation and prunes them otherwise', async () => {
    const typo = manifest('pruned', { replicaz: 5, storage: { sise: '1Gi' }, tls: { enabled: true, extra: 1 } });
    const strict = await kubectl(['apply', '-f', '-'], typo);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('unknown field "spec.replicaz"');
    const lenient = await kubectl(['apply', '--validate=false', '-f', '-'], typo);
    expect(lenient.code, lenient.stderr).toBe(0);
    expect((await read('pruned')).spec).toEqual(withDefaults({}));
  });

  it('stores member IDs as strings, never as numbers', async () => {
    const member = { name: 'example-0', memberID: 'fffffffffffffffe', role: 'Voter', isLeader: true, healthy: true };
    const patch = await kubectl(['patch', 'etcdcluster', 'example', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { members: [member], clusterID: 'cdf818194e3a8c32' } })]);
    expect(patch.code, patch.stderr).toBe(0);
    expect((await read('example')).status?.members?.[0]?.memberID).toBe('fffffffffffffffe');
    const decimal = await kubectl(['patch', 'etcdcluster', 'example', '--subresource=status', '--type=merge', '-p', '{"status":{"clusterID":"14841639068965178418"}}']);
    expect(decimal.stderr).toContain('status.clusterID');
  });
});
