import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';
import { killEtcd, volumePath } from './member-process.js';

// A member whose volume was lost must never start etcd empty under its old member ID: etcd would
// count its empty log as a vote. The pod's own start guard holds it until the operator has
// removed the old member and added the volume as a new one, whether the operator is running,
// stopped, or the cluster is paused when the volume goes.
describe('a member on an empty volume never rejoins under its old identity', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'lost';

  const memberId = async (member: string) => (await env.cluster(ns, name)).status?.members?.find((m) => m.name === member)?.memberID;
  const pod = async (member: string) => JSON.parse(await env.kubectl('get', 'pod', member, '-n', ns, '-o', 'json')) as V1Pod;
  /** The IDs etcd itself lists (hex: JSON numbers would round 64-bit IDs), by peer URL host. */
  const etcdMembers = async (endpoints?: string[], args: string[] = []) => {
    const out = JSON.parse(await env.etcdctl(ns, name, ['member', 'list', '-w', 'json', '--hex', ...args], endpoints)) as { members: { ID: string; peerURLs: string[] }[] };
    return out.members.map((m) => ({ id: m.ID.replace(/^0+/, ''), host: new URL(m.peerURLs[0]!).hostname.split('.')[0] }));
  };

  const loseVolume = (member: string) => env.loseMembers(ns, [member]);

  /** The new pod got its sandbox, and for `forMs` its etcd never runs: the start guard holds it. */
  async function expectHeld(member: string, forMs: number): Promise<void> {
    await env.waitFor(`${member}'s sandbox`, async () => (await pod(member)).status?.podIP !== undefined, { timeoutMs: 60_000 });
    const until = Date.now() + forMs;
    while (Date.now() < until) {
      const p = await pod(member);
      const etcd = p.status?.containerStatuses?.find((c) => c.name === 'etcd');
      expect(etcd?.state?.running, `${member}'s etcd must not run on the empty volume`).toBeUndefined();
      expect(etcd?.restartCount ?? 0).toBe(0);
      expect(p.status?.initContainerStatuses?.[0]?.restartCount ?? 0).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await pod(member)).status?.initContainerStatuses?.[0]?.state?.running, `${member}'s start guard runs`).toBeDefined();
  }

  /** After `trigger` (the operator started, the cluster unpaused): ms until `member` has a new ID and 3/3 converged. */
  async function replacedAfter(member: string, before: string, trigger: () => Promise<unknown>): Promise<number> {
    const started = Date.now();
    await trigger();
    await env.waitFor(`a new member for ${member}`, async () => {
      const id = await memberId(member);
      return id !== undefined && id !== before;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    await env.waitConverged(ns, name, 3);
    return Date.now() - started;
  }

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-lost-volume');
    await env.startOperator();
    await env.createCluster(ns, name);
    checker = await env.checker(ns, name);
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('holds the pod while the operator is down, and the operator then replaces the member', async () => {
    const before = (await memberId(`${name}-1`))!;
    await env.operator().process.stop();
    await loseVolume(`${name}-1`);
    await expectHeld(`${name}-1`, 8_000);
    // etcd still lists the old member: nothing has joined under its ID.
    expect((await etcdMembers()).find((m) => m.host === `${name}-1`)?.id).toBe(before);
    const ms = await replacedAfter(`${name}-1`, before, () => env.startOperator());
    console.log(`operator back -> lost-1 replaced and converged: ${ms} ms`);
    const p = await pod(`${name}-1`);
    expect(p.status!.containerStatuses!.find((c) => c.name === 'etcd')!.restartCount).toBe(0);
    expect(await env.eventReasons(ns)).toContain('LostMemberRemoved');
  });

  it('holds the pod while the cluster is paused, and replaces the member once unpaused', async () => {
    const before = (await memberId(`${name}-2`))!;
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', '{"spec":{"paused":true}}');
    await env.waitFor('the status to say paused', async () => (await env.cluster(ns, name)).status?.conditions?.some((c) => c.reason === 'Paused'), { timeoutMs: 30_000 });
    await loseVolume(`${name}-2`);
    await expectHeld(`${name}-2`, 8_000);
    const status = (await env.cluster(ns, name)).status!;
    expect(status.members!.find((m) => m.name === `${name}-2`)?.healthy, 'a held member is not healthy').not.toBe(true);
    expect(status.members!.find((m) => m.name === `${name}-2`)?.memberID).toBe(before);
    const ms = await replacedAfter(`${name}-2`, before, () => env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', '{"spec":{"paused":false}}'));
    console.log(`unpaused -> lost-2 replaced and converged: ${ms} ms`);
  });

  it('replaces a member that has no volume record (its ConfigMap deleted too, the operator down): the start guard\'s hold is the proof', async () => {
    const member = `${name}-0`;
    const before = (await memberId(member))!;
    await env.operator().process.stop();
    // The records of which member ran on which volume go with the membership ConfigMap, as they
    // would for a voter lost between its bootstrap and the first pass that recorded it.
    await env.kubectl('delete', 'configmap', `${name}-membership`, '-n', ns);
    await loseVolume(member);
    const ms = await replacedAfter(member, before, () => env.startOperator());
    console.log(`operator back -> ${member} (no record) replaced and converged: ${ms} ms`);
    expect((await etcdMembers()).map((m) => m.id)).not.toContain(before);
  });

  // The start guard runs when a pod starts; a volume emptied under the running pod and then an
  // etcd restart (a crash, a liveness kill) skips it. Before the refusal, etcd 3.6.16 started
  // there empty under the old member's ID (or panicked in raft: tocommit out of range).
  it('a volume emptied under its running pod: at the etcd container\'s restart etcd refuses to start, with the operator away, and the member is then replaced', async () => {
    const member = `${name}-0`;
    const before = (await memberId(member))!;
    await env.waitFor(`${member}'s refusal annotation`, async () => (await pod(member)).metadata?.annotations?.['etcd.operator.dev/empty-data-refusal'] !== undefined, { timeoutMs: 30_000, intervalMs: 250 });
    const old = await pod(member);
    await env.operator().process.stop();
    rmSync(join(await volumePath((...a) => env.kubectl(...a), ns, member), 'data'), { recursive: true, force: true });
    killEtcd(member, old.status!.podIP!);
    const lastWords = async () => {
      const etcd = (await pod(member)).status?.containerStatuses?.find((c) => c.name === 'etcd');
      return etcd?.state?.running ? undefined : (etcd?.state?.terminated?.message ?? etcd?.lastState?.terminated?.message);
    };
    await env.waitFor(`${member}'s etcd to refuse its empty data directory`, async () => (await lastWords())?.includes(`refused-empty-data-dir://member-${before}`), { timeoutMs: 30_000, intervalMs: 250 });
    // For 5 s (the restart backoff's first 10 s): not running, the same pod, nothing joined under the old ID.
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      const p = await pod(member);
      expect(p.metadata?.uid).toBe(old.metadata?.uid);
      expect(p.status?.containerStatuses?.find((c) => c.name === 'etcd')?.state?.running, `${member}'s etcd must not run on the emptied volume`).toBeUndefined();
      await new Promise((r) => setTimeout(r, 500));
    }
    const peers = [1, 2].map((i) => `https://${name}-${i}.${name}-peer.${ns}.svc.cluster.local:2379`);
    expect((await etcdMembers(peers)).find((m) => m.host === member)?.id).toBe(before);
    const ms = await replacedAfter(member, before, () => env.startOperator());
    console.log(`operator back -> ${member} (volume emptied in place) replaced and converged: ${ms} ms; event: ${(await env.kubectl('get', 'events', '-n', ns, '--field-selector', 'reason=MemberDataDirEmptied', '-o', 'jsonpath={.items[0].message}')).slice(0, 160)}`);
    expect((await pod(member)).metadata?.uid).not.toBe(old.metadata?.uid);
    expect(await env.eventReasons(ns)).toContain('MemberDataDirEmptied');
    expect((await etcdMembers()).map((m) => m.id)).not.toContain(before);
  });

  it('lost no acknowledged write and served no stale read', async () => {
    await expectNoLoss(checker);
  });

  it('with two of three volumes lost at once, neither starts and the cluster never reads healthy again on its own', async () => {
    const ids = await etcdMembers();
    const lost = [`${name}-0`, `${name}-1`];
    await env.loseMembers(ns, lost);
    await Promise.all(lost.map((m) => expectHeld(m, 2_000)));
    await env.waitFor('Available=False', async () => (await env.cluster(ns, name)).status?.conditions?.some((c) => c.type === 'Available' && c.status === 'False'), { timeoutMs: 60_000 });
    // For 20 s: both pods stay held and Available stays False.
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const c = await env.cluster(ns, name);
      expect(c.status?.conditions?.find((x) => x.type === 'Available')?.status).toBe('False');
      for (const member of lost) {
        expect((await pod(member)).status?.containerStatuses?.find((s) => s.name === 'etcd')?.state?.running, `${member} must stay held`).toBeUndefined();
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    // Nothing joined: the survivor lists no member that was not there before. (The operator may
    // have removed the first lost member in the moment it saw only one gone, while it could.)
    const survivor = `https://${name}-2.${name}-peer.${ns}.svc.cluster.local:2379`;
    const survivorView = await etcdMembers([survivor], ['--consistency=s']);
    const before = new Set(ids.map((m) => m.id));
    expect(survivorView.filter((m) => !before.has(m.id))).toEqual([]);
  });
});
