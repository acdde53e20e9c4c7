import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Crashpoint } from '../../src/runtime/crashpoints.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The operator dies (SIGKILL) right after each membership change, before the step that must
// follow it (growing or shrinking the StatefulSet, announcing the new membership). A new operator
// process must pick up from what it observes and converge, with no write lost.
const table: { point: Crashpoint; from: number; to: number; leaderLeaving?: boolean; holdsAhead?: boolean }[] = [
  { point: 'after-member-add', from: 3, to: 5 },
  { point: 'after-member-promote', from: 5, to: 7 },
  // Leadership is moved to the member that leaves first, so the operator must move it away.
  { point: 'after-leader-move', from: 7, to: 5, leaderLeaving: true },
  { point: 'after-member-remove', from: 5, to: 3 },
  // The pods of a scale-up start before its first add: with the operator away they must only
  // wait in their start guards, adding no member and starting no etcd. The volumes the removed
  // members 3 and 4 left (retentionPolicy Retain) are deleted first, as a user would, or the
  // scale-up waits for that decision instead.
  { point: 'after-start-ahead', from: 3, to: 5, holdsAhead: true },
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

  /** The pods above `from` run their start guards, and keep running them; etcd lists `from` members. */
  async function expectHeldAhead(from: number, to: number): Promise<void> {
    type Pod = { status?: { initContainerStatuses?: { name: string; state?: { running?: object } }[]; containerStatuses?: { name: string; state?: { running?: object; terminated?: object } }[] } };
    const guarding = async (ordinal: number) => {
      const pod = JSON.parse(await env.kubectl('get', 'pod', `${name}-${ordinal}`, '-n', ns, '-o', 'json').catch(() => '{}')) as Pod;
      const guard = pod.status?.initContainerStatuses?.find((c) => c.name === 'member-init');
      const etcd = pod.status?.containerStatuses?.find((c) => c.name === 'etcd');
      return guard?.state?.running !== undefined && etcd?.state?.running === undefined && etcd?.state?.terminated === undefined;
    };
    const ahead = Array.from({ length: to - from }, (_, i) => from + i);
    await env.waitFor(`pods ${ahead.join(', ')} in their start guards`, async () => (await Promise.all(ahead.map(guarding))).every(Boolean), { timeoutMs: 60_000 });
    // Longer than etcd's window after the last change: nothing adds a member while the operator is away.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await Promise.all(ahead.map(guarding))).toEqual(ahead.map(() => true));
    const listed = JSON.parse(await env.etcdctl(ns, name, ['member', 'list', '-w', 'json'])) as { members: unknown[] };
    expect(listed.members).toHaveLength(from);
  }

  it.each(table)('converges after a crash $point while scaling $from -> $to', async ({ point, from, to, leaderLeaving, holdsAhead }) => {
    if (leaderLeaving) {
      const highest = (await env.cluster(ns, name)).status!.members!.find((m) => m.name === `${name}-${from - 1}`)!;
      await env.etcdctl(ns, name, ['move-leader', highest.memberID]);
      await env.waitFor('the status to show the new leader', async () => (await env.cluster(ns, name)).status?.leader === highest.name);
    }
    if (holdsAhead) {
      const claims = Array.from({ length: to - from }, (_, i) => `data-${name}-${from + i}`);
      await env.kubectl('delete', 'pvc', ...claims, '-n', ns, '--ignore-not-found', '--wait=true');
    }
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: point });
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, `--replicas=${to}`);
    await env.waitFor(`the operator to crash at ${point}`, () => !crashing.process.running(), { timeoutMs: 120_000 });
    expect(await crashing.process.exited).toBeNull(); // killed by a signal, not an exit
    const sts = JSON.parse(await env.kubectl('get', 'statefulset', name, '-n', ns, '-o', 'json')) as { spec: { replicas: number } };
    console.log(`${point}: crashed with the StatefulSet at ${sts.spec.replicas}`);
    if (holdsAhead) await expectHeldAhead(from, to);
    await env.startOperator();
    await env.waitConverged(ns, name, to);
  });

  it('lost no acknowledged write and served no stale read through the crashes', async () => {
    await expectNoLoss(checker);
  });
});
