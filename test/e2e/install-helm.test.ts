import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/binaries.js';
import { runHelm } from '../harness/helm.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The chart as users run it: `helm install` with watchNamespaces (a Role per namespace), the two
// replicas as pods of the local agent, then `helm upgrade` to a new operator release (a new image
// tag and version label) under a running cluster: no member pod may restart or change.
describe('installed with helm, then upgraded', () => {
  let env: E2eEnvironment;
  let home: string;
  const system = 'etcd-operator-system';
  const ns = 'team-a';
  const outside = 'team-b';
  const helm = async (...args: string[]) => {
    const res = await runHelm(args, home, env.cp.kubeconfigPath);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout;
  };
  const operatorPods = async () =>
    (JSON.parse(await env.kubectl('get', 'pods', '-n', system, '-l', 'app.kubernetes.io/name=etcd-operator', '-o', 'json')) as { items: V1Pod[] }).items.filter((p) => !p.metadata?.deletionTimestamp);
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  const members = async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=example', '-o', 'json')) as { items: V1Pod[] }).items;
  const statefulSet = async () => JSON.parse(await env.kubectl('get', 'statefulset', 'example', '-n', ns, '-o', 'json')) as V1StatefulSet;

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-install-helm');
    home = mkdtempSync(join(env.cp.dir, 'helm-home-'));
    for (const n of [system, ns, outside]) await env.kubectl('create', 'namespace', n);
  });
  afterAll(async () => env?.stop());

  it('runs the chart with watchNamespaces: Available in the watched namespace, untouched outside it', async () => {
    await helm('install', 'etcd-operator', join(repoRoot, 'charts', 'etcd-operator'), '-n', system, '--set', `watchNamespaces={${ns}}`, '--skip-crds');
    await env.waitFor('two ready operator pods', async () => {
      const pods = await operatorPods();
      return pods.length === 2 && pods.every(ready) ? pods : undefined;
    }, { timeoutMs: 120_000 });
    const sample = readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8');
    for (const n of [ns, outside]) {
      const res = await env.cp.kubectl(['apply', '-n', n, '-f', '-'], { input: sample });
      expect(res.code, res.stderr).toBe(0);
    }
    await env.waitConverged(ns, 'example', 3);
    const ignored = await env.cluster(outside, 'example');
    expect(ignored.status).toBeUndefined();
    expect((await env.kubectl('get', 'statefulset,secret,configmap', '-n', outside, '-o', 'name')).trim()).not.toMatch(/example/);
  });

  it('helm upgrade to a new operator release restarts no member and changes no member template', async () => {
    const before = { pods: await members(), sts: await statefulSet() };
    const oldOperators = new Set((await operatorPods()).map((p) => p.metadata!.name));
    // The next release: a copy of the chart with a new appVersion, hence a new image tag (the
    // agent runs every tag of the operator's image from dist/) and a new version label.
    const chart = mkdtempSync(join(env.cp.dir, 'chart-'));
    cpSync(join(repoRoot, 'charts', 'etcd-operator'), chart, { recursive: true });
    const chartFile = join(chart, 'Chart.yaml');
    writeFileSync(chartFile, readFileSync(chartFile, 'utf8').replace(/^appVersion: .*$/m, 'appVersion: "0.1.1"').replace(/^version: .*$/m, 'version: 0.1.1'));
    await helm('upgrade', 'etcd-operator', chart, '-n', system, '--reuse-values');
    const upgraded = await env.waitFor('two ready operator pods of the new release', async () => {
      const pods = await operatorPods();
      const fresh = pods.filter((p) => !oldOperators.has(p.metadata!.name));
      return pods.length === 2 && fresh.length === 2 && fresh.every(ready) ? fresh : undefined;
    }, { timeoutMs: 180_000 });
    expect(upgraded[0]!.spec!.containers[0]!.image).toBe('ghcr.io/etcd-operator/etcd-operator:v0.1.1');
    const deployment = JSON.parse(await env.kubectl('get', 'deployment', 'etcd-operator', '-n', system, '-o', 'json')) as { metadata: { labels: Record<string, string> } };
    expect(deployment.metadata.labels['app.kubernetes.io/version']).toBe('0.1.1');
    // The new release has reconciled the cluster: it scales it, then every old member is unchanged.
    await env.kubectl('scale', 'etcdcluster', 'example', '-n', ns, '--replicas=5');
    await env.waitConverged(ns, 'example', 5);
    const after = { pods: await members(), sts: await statefulSet() };
    const byName = new Map(after.pods.map((p) => [p.metadata!.name!, p]));
    let restarts = 0;
    let replaced = 0;
    for (const old of before.pods) {
      const now = byName.get(old.metadata!.name!);
      if (now?.metadata?.uid !== old.metadata?.uid) replaced++;
      restarts += (now?.status?.containerStatuses?.[0]?.restartCount ?? 0) - (old.status?.containerStatuses?.[0]?.restartCount ?? 0);
    }
    console.log(`operator upgrade 0.1.0 -> 0.1.1: ${replaced} member pods replaced, ${restarts} restarts, template revision ${before.sts.status?.updateRevision} -> ${after.sts.status?.updateRevision}`);
    expect(after.sts.spec!.template).toEqual(before.sts.spec!.template);
    expect(after.sts.status?.updateRevision).toBe(before.sts.status?.updateRevision);
    expect({ replaced, restarts }).toEqual({ replaced: 0, restarts: 0 });
  });
});
