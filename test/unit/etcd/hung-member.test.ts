import { describe, expect, it } from 'vitest';
import { observeEtcd } from '../../../src/controller/observe-etcd.js';
import { EndpointMemory } from '../../../src/etcd/endpoint-memory.js';
import { FakeEtcdAdmin } from './fake.js';

// A member whose process is stopped (SIGSTOP) answers nothing: each call to it waits out its
// deadline. A pass (observe, then a change, which first finds the leader) must wait on it once,
// and the next pass not at all, while its status still says it does not answer.

const ref = { name: 'main', namespace: 'db' };
const url = (i: number, port: number) => `https://10.0.0.${i}:${port}`;
const voters = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `main-${i}`, peerURL: url(i, 2380), clientURL: url(i, 2379) }));
const memberTimeoutMs = 250;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function cluster(): Promise<{ fake: FakeEtcdAdmin; clock: { now: number }; ids: string[] }> {
  const clock = { now: 0 };
  const fake = new FakeEtcdAdmin(voters(3), new EndpointMemory({ now: () => clock.now, firstProbeMs: 1_000 }));
  fake.memberTimeoutMs = memberTimeoutMs;
  return { fake, clock, ids: (await fake.memberList()).members.map((m) => m.id) };
}

/** One pass as the reconciler makes it: observe, then one change sent to the leader. */
async function pass(fake: FakeEtcdAdmin, change: () => Promise<unknown>) {
  const view = await observeEtcd(fake, ref);
  await change();
  return view.members.find((m) => m.name === 'main-2')!;
}

describe('a cluster with one hung member', () => {
  it('waits on it once, for the short deadline, and not again on the next pass', async () => {
    const { fake, ids } = await cluster();
    fake.setHung(ids[2]!);
    const first = await timed(() => pass(fake, () => fake.moveLeader(ids[1]!)));
    const second = await timed(() => pass(fake, () => fake.moveLeader(ids[0]!)));
    console.log(`[fake] hung member, deadline ${memberTimeoutMs} ms: pass 1 ${Math.round(first.ms)} ms, pass 2 ${Math.round(second.ms)} ms, deadlines waited ${fake.deadlinesWaited}`);
    // Without the memory the change's leader search waits again: two deadlines in pass 1, two in pass 2.
    expect(fake.deadlinesWaited).toBe(1);
    expect(first.ms).toBeGreaterThanOrEqual(memberTimeoutMs - 5);
    expect(second.ms).toBeLessThan(memberTimeoutMs);
    // Not waited on is not healthy: both passes report it with the error it last gave.
    for (const seen of [first.value, second.value]) expect(seen).toMatchObject({ healthy: false, status: undefined, problem: 'not answering (DeadlineExceeded)' });
  });

  it('notices it answering again through a probe beside the passes', async () => {
    const { fake, clock, ids } = await cluster();
    fake.setHung(ids[2]!);
    await observeEtcd(fake, ref);
    fake.setHung(ids[2]!, false);
    // Before the first pause has passed, no probe goes out: the pass still reports the last error.
    expect((await observeEtcd(fake, ref)).members[2]).toMatchObject({ healthy: false });
    clock.now += 1_000;
    // This pass does not wait for the probe it starts; the probe's answer serves the next pass.
    expect((await observeEtcd(fake, ref)).members[2]).toMatchObject({ healthy: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await observeEtcd(fake, ref)).members[2]).toMatchObject({ healthy: true, problem: undefined });
    expect(fake.deadlinesWaited).toBe(1);
  });
});
