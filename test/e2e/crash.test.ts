import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Crashpoint } from '../../src/runtime/crashpoints.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The operator dies (SIGKILL) right after each membership change, before the step that must
// follow it (growing or shrinking the StatefulSet, announcing the new membership). A new operator
// process must pick up from what it observes and converge, with no write lost.
const table: { point: Crashpoint; from: number; to: number; leaderLeaving?: boolean }[] = [
  { point: 'after-member-add', from: 3, to: 5 },
  { point: 'after-member-promote', from: 5, to: 7 },
  // Leadership is moved to the member that leaves first, so the operator must move it away.
  { point: 'after-leader-move', from: 7, to: 5, leaderLeaving: true },
  { point: 'after-member-remove', from: 5, to: 3 },
];

describe('operator crashes between membership steps', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'crash';

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-crash');
    await env.startOperator();
    await env.createCluster(ns, name);
    checker = await env.checker(ns, name);
    checker.start();
  });
  afterAll(async () => env?.stop());

  it.each(table)('converges after a crash $point while scaling $from -> $to', async ({ point, from, to, leaderLeaving }) => {
    if (leaderLeaving) {
      const highest = (await env.cluster(ns, name)).status!.members!.find((m) => m.name === `${name}-${from - 1}`)!;
      await env.etcdctl(ns, name, ['move-leader', highest.memberID]);
      await env.waitFor('the status to show the new leader', async () => (await env.cluster(ns, name)).status?.leader === highest.name);
    }
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: point });
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, `--replicas=${to}`);
    await env.waitFor(`the operator to crash at ${point}`, () => !crashing.process.running(), { timeoutMs: 120_000 });
    expect(await crashing.process.exited).toBeNull(); // killed by a signal, not an exit
    const sts = JSON.parse(await env.kubectl('get', 'statefulset', name, '-n', ns, '-o', 'json')) as { spec: { replicas: number } };
    console.log(`${point}: crashed with the StatefulSet at ${sts.spec.replicas}`);
    await env.startOperator();
    await env.waitConverged(ns, name, to);
  });

  it('lost no acknowledged write and served no stale read through the crashes', async () => {
    await expectNoLoss(checker);
  });
});
