import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/binaries.js';
import { type Checker, type CheckerReport, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The whole product: the real kubectl applies an EtcdCluster, the operator runs it as pods that
// the local agent runs as real etcd processes with mutual TLS, and a client writes and reads
// throughout. No acknowledged write may be lost; no read may be stale.
describe('EtcdCluster lifecycle end to end', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'example';

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-lifecycle');
    await env.startOperator();
  });
  afterAll(async () => env?.stop());

  it('brings 3 members up Ready with TLS after kubectl apply', async () => {
    const started = Date.now();
    const apply = await env.cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8') });
    expect(apply.code, apply.stderr).toBe(0);
    const cluster = await env.waitConverged(ns, name, 3);
    console.log(`apply -> 3/3 Ready: ${Date.now() - started} ms`);
    expect(cluster.status!.leader).toMatch(/^example-[0-2]$/);
    expect(cluster.status!.clusterID).toMatch(/^[0-9a-f]+$/);
    checker = await env.checker(ns, name);
    checker.start();
  });

  it('reads and writes with the user certificate through the real etcdctl', async () => {
    const out = await env.etcdctl(ns, name, ['put', 'hello', 'world']);
    expect(out.trim()).toBe('OK');
    expect(await env.etcdctl(ns, name, ['get', 'hello', '--print-value-only'])).toBe('world\n');
  });

  it('scales to 5 with kubectl scale, one learner at a time', async () => {
    const started = Date.now();
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=5');
    await env.waitConverged(ns, name, 5);
    console.log(`scale 3 -> 5: ${Date.now() - started} ms`);
    const events = await env.kubectl('get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=EtcdCluster', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}');
    const reasons = events.trim().split('\n');
    expect(reasons.filter((r) => r === 'MemberAdded')).toHaveLength(2);
    expect(reasons.filter((r) => r === 'MemberPromoted')).toHaveLength(2);
  });

  it('scales back to 3, removing members before shrinking the StatefulSet', async () => {
    const started = Date.now();
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=3');
    const cluster = await env.waitConverged(ns, name, 3);
    console.log(`scale 5 -> 3: ${Date.now() - started} ms`);
    expect(cluster.status!.members!.map((m) => m.name).sort()).toEqual(['example-0', 'example-1', 'example-2']);
  });

  it('rolls members one at a time, leader last, when the spec changes their flags', async () => {
    type Sts = { metadata: { generation: number }; status: { observedGeneration?: number; updateRevision?: string } };
    const statefulSet = async () => JSON.parse(await env.kubectl('get', 'statefulset', name, '-n', ns, '-o', 'json')) as Sts;
    const restartsBefore = (await env.eventReasons(ns)).filter((r) => r === 'MemberRestarted').length;
    const oldRevision = (await statefulSet()).status.updateRevision;
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { options: { 'snapshot-count': '5000' } } }));
    // Until the StatefulSet controller records the new template, the old revision still reads as
    // "current": wait for a new revision before checking that every pod runs it.
    await env.waitFor('every pod on the new template', async () => {
      const sts = await statefulSet();
      const revision = sts.status.updateRevision;
      if (sts.status.observedGeneration !== sts.metadata.generation || !revision || revision === oldRevision) return false;
      const pods = JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=example', '-o', 'json')) as { items: { metadata: { labels: Record<string, string> } }[] };
      return pods.items.length === 3 && pods.items.every((p) => p.metadata.labels['controller-revision-hash'] === revision);
    }, { timeoutMs: 240_000, intervalMs: 500 });
    await env.waitConverged(ns, name, 3);
    const restarts = (await env.eventReasons(ns)).filter((r) => r === 'MemberRestarted').length - restartsBefore;
    expect(restarts).toBe(3);
  });

  it('brings a deleted member pod back, rejoining with its data', async () => {
    const before = (await env.cluster(ns, name)).status!.members!.find((m) => m.name === 'example-1')!.memberID;
    const podUid = async () => (JSON.parse(await env.kubectl('get', 'pod', 'example-1', '-n', ns, '-o', 'json')) as { metadata: { uid: string } }).metadata.uid;
    const oldUid = await podUid();
    await env.kubectl('delete', 'pod', 'example-1', '-n', ns, '--wait=false');
    await env.waitFor('example-1 to be replaced', async () => (await podUid().catch(() => oldUid)) !== oldUid, { timeoutMs: 60_000 });
    // The status may still describe the old pod: wait for the new one to be Ready first.
    await env.waitFor('the new example-1 to be Ready', async () => {
      const out = await env.kubectl('get', 'pod', 'example-1', '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}').catch(() => '');
      return out === 'True';
    }, { timeoutMs: 120_000 });
    const cluster = await env.waitConverged(ns, name, 3);
    // Same member ID: the pod came back on its volume, so it is the same member, not a new one.
    expect(cluster.status!.members!.find((m) => m.name === 'example-1')!.memberID).toBe(before);
  });

  it('replaces a member whose pod and volume were deleted: removed, then re-added empty', async () => {
    const before = (await env.cluster(ns, name)).status!.members!.find((m) => m.name === 'example-2')!.memberID;
    await env.kubectl('delete', 'pvc', 'data-example-2', '-n', ns, '--wait=false');
    await env.kubectl('delete', 'pod', 'example-2', '-n', ns, '--wait=false');
    // Deleting a pod bumps no generation, so the status from before the deletion would pass
    // waitConverged: first wait for the status to name a new member for example-2.
    await env.waitFor('a new member for example-2', async () => {
      const id = (await env.cluster(ns, name)).status?.members?.find((m) => m.name === 'example-2')?.memberID;
      return id !== undefined && id !== before;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    const cluster = await env.waitConverged(ns, name, 3);
    const after = cluster.status!.members!.find((m) => m.name === 'example-2')!.memberID;
    expect(after).not.toBe(before);
    const reasons = await env.eventReasons(ns);
    expect(reasons).toContain('LostMemberRemoved');
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    await expectNoLoss(checker);
  });

  it('deletes everything the cluster owns when it is deleted, keeping volumes by default', async () => {
    await env.kubectl('delete', 'etcdcluster', name, '-n', ns, '--wait=true', '--timeout=120s');
    await env.waitFor('owned objects to be collected', async () => {
      const left = await env.kubectl('get', 'statefulset,service,secret,configmap,poddisruptionbudget,pod', '-n', ns, '-l', 'app.kubernetes.io/instance=example', '-o', 'name');
      return left.trim() === '';
    }, { timeoutMs: 120_000 });
    const pvcs = await env.kubectl('get', 'pvc', '-n', ns, '-o', 'name');
    expect(pvcs.trim().split('\n').length).toBeGreaterThanOrEqual(3);
  });
});

export type { CheckerReport };
