import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { type OperatorProcess, startOperator } from '../harness/operator.js';

const ns = 'runtime-leader';
const leaseMs = 4000;
const retryMs = 500;
const electionArgs = ['--leader-election-namespace=default', '--leader-election-id=runtime-test', `--lease-duration=${leaseMs}ms`, '--renew-deadline=3s', `--retry-period=${retryMs}ms`];

// Two and three real operator processes against one API server, with short lease timings.
describe('leader election across operator processes', () => {
  let cp: ControlPlane;
  const started: OperatorProcess[] = [];
  const passes = (op: OperatorProcess) => op.metric('controller_runtime_reconcile_total');
  const leading = (op: OperatorProcess) => op.metric('leader_election_master_status');
  const holder = async () => (await cp.kubectl(['get', 'lease', '-n', 'default', 'runtime-test', '-o', 'jsonpath={.spec.holderIdentity}'])).stdout;
  const lease = async () => (JSON.parse((await cp.kubectl(['get', 'lease', '-n', 'default', 'runtime-test', '-o', 'json'])).stdout) as { spec: { acquireTime?: string; renewTime?: string } }).spec;
  /** How a process came to lead, from its 'lease acquired' log line. */
  const takeover = (op: OperatorProcess) => {
    const lines = op.process.logTail(100_000).split('\n').filter((l) => l.includes('"lease acquired"'));
    return lines.length > 0 ? (JSON.parse(lines.at(-1)!) as { takeover?: string }).takeover : undefined;
  };
  const launch = async (name: string) => {
    const op = await startOperator(name, cp.dir, cp.kubeconfigPath, [...electionArgs, `--leader-election-identity=${name}`]);
    started.push(op);
    return op;
  };
  const touchCluster = (n: number) =>
    cp.kubeConfig().makeApiClient(CustomObjectsApi).patchNamespacedCustomObject({
      group: 'etcd.operator.dev', version: 'v1alpha1', plural: 'etcdclusters', namespace: ns, name: 'c1',
      body: [{ op: 'replace', path: '/metadata/annotations', value: { touch: String(n) } }],
    });

  beforeAll(async () => {
    cp = await startControlPlane('runtime-leader');
    expect((await cp.kubectl(['apply', '-f', join(repoRoot, 'crds')])).code).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    await cp.kubectl(['create', 'namespace', ns]);
    const apply = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'c1', namespace: ns }, spec: { replicas: 3 } }) });
    expect(apply.code, apply.stderr).toBe(0);
  });
  afterAll(async () => {
    await Promise.all(started.map((op) => op.process.stop(2000)));
    await cp?.stop();
  });

  let a: OperatorProcess;
  let b: OperatorProcess;
  let leader: OperatorProcess;
  let follower: OperatorProcess;

  it('lets only one of two processes reconcile', async () => {
    [a, b] = await Promise.all([launch('op-a'), launch('op-b')]);
    const name = await waitFor('a lease holder', async () => (await holder()) || undefined);
    [leader, follower] = name.startsWith('op-a_') ? [a, b] : [b, a];
    await waitFor('the leader to reconcile', async () => (await passes(leader)) > 0, { timeoutMs: 60_000 });
    await waitFor('the follower to be ready (cache synced)', async () => (await fetch(`${follower.healthUrl}/readyz`)).status === 200);
    for (let i = 0; i < 5; i++) await touchCluster(i);
    await waitFor('the leader to see the changes', async () => (await passes(leader)) >= 6);
    expect(await passes(follower)).toBe(0);
    expect(await leading(leader)).toBe(1);
    expect(await leading(follower)).toBe(0);
  });

  it('takes over after the lease duration, and not before, when the leader is killed', async () => {
    const renewedBeforeKill = (await lease()).renewTime!;
    const killedAt = Date.now();
    process.kill(leader.process.pid, 'SIGKILL');
    await leader.process.exited;
    await waitFor('the follower to lead', async () => (await leading(follower)) === 1, { timeoutMs: 30_000, intervalMs: 50 });
    console.log(`takeover after SIGKILL: ${Date.now() - killedAt} ms (lease duration ${leaseMs} ms)`);
    // Safety, read off the lease rather than timed here: the follower waited out a full lease
    // duration after the last renewal it saw, so it never led while the old leader might have.
    const taken = await lease();
    expect(Date.parse(taken.acquireTime!) - Date.parse(renewedBeforeKill)).toBeGreaterThanOrEqual(leaseMs);
    expect(takeover(follower)).toBe('expired');
    await touchCluster(100);
    await waitFor('the new leader to reconcile', async () => (await passes(follower)) > 0);
    leader = follower;
  });

  it('on SIGTERM exits 0 and releases the lease, so a waiting process takes over at once', async () => {
    const c = await launch('op-c');
    await waitFor('op-c to be ready', async () => (await fetch(`${c.healthUrl}/readyz`)).status === 200);
    const stoppedAt = Date.now();
    await leader.process.stop(10_000);
    expect(await leader.process.exited).toBe(0);
    expect(leader.process.logTail(50)).toContain('lease released');
    await waitFor('op-c to lead', async () => (await leading(c)) === 1, { timeoutMs: 30_000, intervalMs: 50 });
    console.log(`handover after SIGTERM: ${Date.now() - stoppedAt} ms`);
    // It took a released lease rather than waiting one out (the figure above is the time).
    expect(takeover(c)).toBe('released');

    await c.process.stop(10_000);
    expect(await c.process.exited).toBe(0);
    expect(await holder()).toBe('');
  });
});
