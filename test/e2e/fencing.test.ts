import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditLog, auditArgs, micros, writeAuditPolicy, writeVerbs } from '../harness/audit.js';
import { makeHarnessDir } from '../harness/process.js';
import { writeUserKubeconfig } from '../harness/user-kubeconfig.js';
import type { OperatorProcess } from '../harness/operator.js';
import type { Checker } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// A deposed leader must send nothing. Operator A stalls (the whole process, timers included, as a
// stopped or swapped-out process would) right after adding a member; its lease runs out and B
// takes over and finishes the change. When A wakes, mid-pass, its next write must be refused
// before it is sent: the API server's audit log shows no write of A's after B held the lease.
describe('a deposed leader writes nothing', () => {
  const ns = 'default';
  const name = 'fenced';
  const users = { a: 'etcd-operator-a', b: 'etcd-operator-b' };
  const electionArgs = ['--leader-elect=true', '--leader-election-namespace=default', '--lease-duration=6s', '--renew-deadline=4s', '--retry-period=1s'];
  const pauseMs = 20_000;
  let env: E2eEnvironment;
  let audit: AuditLog;
  let a: OperatorProcess;
  let b: OperatorProcess;
  let checker: Checker;

  const lease = async () => JSON.parse(await env.kubectl('get', 'lease', 'etcd-operator-leader', '-n', ns, '-o', 'json')) as { spec: { holderIdentity?: string } };

  beforeAll(async () => {
    const dir = makeHarnessDir('e2e-fencing-audit');
    audit = new AuditLog(`${dir}/audit.log`);
    env = await startE2eEnvironment('e2e-fencing', { extraApiServerArgs: auditArgs(writeAuditPolicy(dir, [users.a, users.b]), audit.path) });
    const kubeconfigA = await writeUserKubeconfig(env.cp, dir, users.a);
    const kubeconfigB = await writeUserKubeconfig(env.cp, dir, users.b);
    a = await env.startOperator(electionArgs, { POD_NAME: 'operator-a', ETCD_OPERATOR_CRASHPOINTS: `after-member-add:pause=${pauseMs / 1000}s` }, kubeconfigA);
    await env.waitFor('A to lead', async () => (await lease().catch(() => undefined))?.spec.holderIdentity?.startsWith('operator-a_'), { timeoutMs: 60_000 });
    b = await env.startOperator(electionArgs, { POD_NAME: 'operator-b' }, kubeconfigB);
    await env.createCluster(ns, name);
    checker = await env.checker(ns, name);
    checker.start();
  });
  afterAll(async () => {
    await a?.process.stop();
    await b?.process.stop();
    await env?.stop();
  });

  it('hands over while A is stalled mid-change, and A sends no write after B took the lease', async () => {
    const mark = audit.mark();
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=5');
    await env.waitFor('B to take the lease', async () => (await lease()).spec.holderIdentity?.startsWith('operator-b_'), { timeoutMs: 60_000, intervalMs: 250 });
    await env.waitConverged(ns, name, 5);
    // A wakes at the end of its stall and must then stop on its own: leadership lost.
    expect(await a.process.exited, 'A exits as a deposed leader does').not.toBe(0);

    const events = audit.since(mark);
    const writes = (user: string) => events.filter((e) => e.user.username === user && writeVerbs.has(e.verb));
    const leaseTaken = events.find((e: AuditEvent) => e.user.username === users.b && e.objectRef?.resource === 'leases' && writeVerbs.has(e.verb) && e.responseStatus?.code === 200);
    expect(leaseTaken, 'the audit log records B taking the lease').toBeDefined();
    const takenAt = micros(leaseTaken!.requestReceivedTimestamp);
    const late = writes(users.a).filter((e) => micros(e.requestReceivedTimestamp) > takenAt);
    console.log(`A's writes after the change: ${writes(users.a).length}, after B took the lease: ${late.length}; B's writes: ${writes(users.b).length}`);
    expect(late.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
    // A did add the member before it stalled: the change was really under way when it was deposed.
    expect(writes(users.a).length).toBeGreaterThan(0);
    expect(readFileSync(a.process.logPath, 'utf8')).toContain('write refused');
  });

  it('lost no acknowledged write', async () => {
    const report = await checker.stop();
    console.log(`checker: ${JSON.stringify(report)}`);
    expect(report.lost).toBe(0);
    expect(report.staleReads).toBe(0);
  });
});
