import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedVersions, repoRoot } from '../harness/binaries.js';
import { overlayDir } from '../harness/install.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The operator installed as users install it: `kubectl apply -k deploy/overlays/cluster-wide`,
// its two replicas run by the local agent as pods of the Deployment (the ReplicaSet controller
// creates them; the agent runs the operator's image, the project's dist/, with the projected
// ServiceAccount token). No operator process is started by the test.
describe('installed with kubectl apply -k deploy/overlays/cluster-wide', () => {
  let env: E2eEnvironment;
  const system = 'etcd-operator-system';
  const ns = 'etcd-demo';

  // The identity is `<pod>_<random>`, as client-go's: the pod's name before the underscore.
  const holder = async () => (await env.kubectl('get', 'lease', 'etcd-operator-leader', '-n', system, '-o', 'jsonpath={.spec.holderIdentity}')).trim().split('_')[0]!;
  const operatorPods = async () =>
    (JSON.parse(await env.kubectl('get', 'pods', '-n', system, '-l', 'app.kubernetes.io/name=etcd-operator', '-o', 'json')) as { items: V1Pod[] }).items.filter((p) => !p.metadata?.deletionTimestamp);

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-install');
  });
  afterAll(async () => env?.stop());

  it('runs two ready replicas, one holding the Lease', async () => {
    const res = await env.cp.kubectl(['apply', '--server-side', '-k', overlayDir('cluster-wide')]);
    expect(res.code, res.stderr).toBe(0);
    await env.waitFor('two ready operator pods', async () => {
      const pods = await operatorPods();
      return pods.length === 2 && pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? pods : undefined;
    }, { timeoutMs: 120_000 });
    const leader = await env.waitFor('a lease holder', async () => (await holder()) || undefined);
    expect((await operatorPods()).map((p) => p.metadata!.name)).toContain(leader);
    // The image runs the Node the tests run on (the pinned one), as the Dockerfile's NODE_MAJOR says.
    for (const pod of await operatorPods()) {
      const metrics = await (await fetch(`http://${pod.status!.podIP}:8080/metrics`)).text();
      const version = /^nodejs_version_info\{version="(v[^"]+)"/m.exec(metrics)?.[1];
      console.log(`operator pod ${pod.metadata!.name} runs node ${version}`);
      expect(version).toBe(`v${pinnedVersions.node}`);
    }
  });

  it('brings the sample up, hands over when the leader pod is deleted, then scales 3 -> 5 -> 3 with no request refused', async () => {
    const sample = readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8');
    await env.kubectl('create', 'namespace', ns);
    const apply = await env.cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: sample });
    expect(apply.code, apply.stderr).toBe(0);
    await env.waitConverged(ns, 'example', 3);
    const before = await holder();
    const deleted = Date.now();
    await env.kubectl('delete', 'pod', before, '-n', system, '--wait=false');
    const after = await env.waitFor('the standby to take the Lease', async () => {
      const now = await holder();
      return now && now !== before ? now : undefined;
    }, { timeoutMs: 120_000 });
    console.log(`lease handover: ${before} -> ${after} in ${Date.now() - deleted} ms after the pod was deleted`);
    await env.kubectl('scale', 'etcdcluster', 'example', '-n', ns, '--replicas=5');
    await env.waitConverged(ns, 'example', 5);
    await env.kubectl('scale', 'etcdcluster', 'example', '-n', ns, '--replicas=3');
    await env.waitConverged(ns, 'example', 3);
    // Every request of the operator pods was allowed by the generated RBAC.
    const podsDir = join(env.cp.dir, 'agent', 'pods');
    const logs = readdirSync(podsDir)
      .filter((d) => d.startsWith(`${system}_`))
      .flatMap((d) => readdirSync(join(podsDir, d, 'containers', 'operator')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(podsDir, d, 'containers', 'operator', f), 'utf8')));
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toMatch(/"statusCode":403|forbidden/i);
  });

  it('uninstalled, leaves every member volume', async () => {
    // Scaling down retained the two removed members' volumes (retentionPolicy Retain).
    const claims = (await env.kubectl('get', 'pvc', '-n', ns, '-o', 'name')).trim().split('\n').filter(Boolean);
    expect(claims).toHaveLength(5);
    await env.kubectl('delete', 'etcdcluster', 'example', '-n', ns, '--wait=true', '--timeout=120s');
    const res = await env.cp.kubectl(['delete', '-k', overlayDir('cluster-wide'), '--wait=true', '--timeout=120s']);
    expect(res.code, res.stderr).toBe(0);
    expect((await env.kubectl('get', 'pvc', '-n', ns, '-o', 'name')).trim().split('\n').filter(Boolean)).toEqual(claims);
  });
});
