import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// Faults next to the membership paths the other files drive: the leader's volume lost, a volume
// lost while a scale-up or a scale-down is under way, the same ordinal lost twice in a row, the
// operator killed in the middle of a replacement, spec.replicas changed back before a learner was
// promoted, a learner's pod deleted again and again. One cluster, one checker throughout: after
// each fault the cluster must converge with no extra member, and no ID a lost volume held may be
// listed by etcd again (it would be a member voting with an empty log).
describe('membership faults next to the tested paths', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'faults';
  /** Every member ID whose volume was lost: none may ever be listed again. */
  const lostIds = new Set<string>();

  const member = (i: number) => `${name}-${i}`;
  const pod = async (m: string) => JSON.parse(await env.kubectl('get', 'pod', m, '-n', ns, '-o', 'json')) as V1Pod;
  const statusIds = async () => Object.fromEntries(((await env.cluster(ns, name)).status?.members ?? []).map((m) => [m.name, m.memberID]));
  /** The IDs etcd itself lists (hex, without leading zeros), by peer URL host. */
  const etcdMembers = async () => {
    const out = JSON.parse(await env.etcdctl(ns, name, ['member', 'list', '-w', 'json', '--hex'])) as { members: { ID: string; peerURLs: string[] }[] };
    return out.members.map((m) => ({ id: m.ID.replace(/^0+/, ''), host: new URL(m.peerURLs[0]!).hostname.split('.')[0]! }));
  };
  const scale = (replicas: number) => env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas } }));

  /** Deletes a member's volume and pod; resolves once the StatefulSet made a new pod. */
  async function loseVolume(m: string): Promise<void> {
    const id = (await statusIds())[m];
    if (id) lostIds.add(id);
    await env.loseMembers(ns, [m]);
  }

  /** Converged at `voters`, and etcd lists no ID whose volume was lost. */
  async function converged(voters: number, what: string, started: number): Promise<Record<string, string>> {
    await env.waitConverged(ns, name, voters);
    const listed = await etcdMembers();
    expect(listed.filter((m) => lostIds.has(m.id)), 'a lost identity is listed again').toEqual([]);
    expect(listed).toHaveLength(voters);
    console.log(`${what}: converged at ${voters} in ${Date.now() - started} ms`);
    return statusIds();
  }

  const newIdFor = (m: string, before: string | undefined) =>
    env.waitFor(`a new member for ${m}`, async () => {
      const id = (await statusIds())[m];
      return id !== undefined && id !== before ? id : undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 });

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-membership-faults');
    await env.startOperator();
    // Delete: volumes of removed members go with them, so a later scale-up needs no decision.
    await env.createCluster(ns, name, { storage: { retentionPolicy: 'Delete' } as never });
    checker = await env.checker(ns, name);
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('the leader loses its volume while writes run', async () => {
    const leader = (await env.cluster(ns, name)).status!.leader!;
    const before = (await statusIds())[leader];
    const started = Date.now();
    await loseVolume(leader);
    await newIdFor(leader, before);
    await converged(3, `leader ${leader} lost`, started);
  });

  it('the same ordinal loses its volume again: its claim deleted while the replacement catches up, its pod once promoted', async () => {
    const m = member(1);
    const first = (await statusIds())[m];
    const started = Date.now();
    await loseVolume(m);
    const second = await newIdFor(m, first);
    // The claim goes first: its pod keeps it (and runs the replacement on it) until the pod goes.
    // The operator sees the replacement healthy only on a claim being deleted; it must record it
    // there, or once promoted and lost it would be a voter whose loss nothing proves.
    await env.kubectl('delete', 'pvc', `data-${m}`, '-n', ns, '--wait=false');
    await env.waitFor(`${second} promoted`, async () => ((await env.cluster(ns, name)).status?.members ?? []).some((x) => x.memberID === second && x.role === 'Voter' && x.healthy), { timeoutMs: 120_000, intervalMs: 250 });
    lostIds.add(second);
    const podUid = (await pod(m)).metadata!.uid;
    await env.kubectl('delete', 'pod', m, '-n', ns, '--wait=false');
    await env.waitFor(`a new ${m} pod`, async () => {
      const p = await pod(m).catch(() => undefined);
      return p && p.metadata!.uid !== podUid && !p.metadata!.deletionTimestamp;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    await newIdFor(m, second);
    await converged(3, `${m} lost twice`, started);
  });

  it('a volume lost while a scale-up is under way', async () => {
    const started = Date.now();
    await scale(5);
    await env.waitFor(`${member(3)} added`, async () => (await statusIds())[member(3)] !== undefined, { timeoutMs: 120_000, intervalMs: 250 });
    await loseVolume(member(0));
    await converged(5, 'scale 3 -> 5 with faults-0 lost on the way', started);
  });

  it('two of five volumes lost at once', async () => {
    const ids = await statusIds();
    lostIds.add(ids[member(1)]!);
    lostIds.add(ids[member(3)]!);
    const started = Date.now();
    await env.loseMembers(ns, [member(1), member(3)]);
    await newIdFor(member(1), ids[member(1)]);
    await newIdFor(member(3), ids[member(3)]);
    await converged(5, 'two of five lost', started);
  });

  it('a volume lost while a scale-down is under way', async () => {
    const started = Date.now();
    await scale(3);
    await loseVolume(member(2));
    const ids = await converged(3, 'scale 5 -> 3 with faults-2 lost on the way', started);
    expect(Object.keys(ids).sort()).toEqual([member(0), member(1), member(2)]);
  });

  it('a member removed behind the operator\'s back (etcdctl member remove) at a middle ordinal is replaced', async () => {
    const m = member(1);
    const before = (await statusIds())[m]!;
    const started = Date.now();
    // Its pod runs on, on data of a member etcd no longer knows: only a new volume can rejoin.
    // (etcd refuses a removal within 5 s of a member joining: asked again until it accepts.)
    await env.waitFor(`etcd to remove ${before}`, () => env.etcdctl(ns, name, ['member', 'remove', before]), { timeoutMs: 60_000, intervalMs: 1_000 });
    lostIds.add(before);
    await newIdFor(m, before);
    await converged(3, `${m} removed out of band`, started);
  });

  it('a member removed out of band before its volume was recorded: its pod, crash-looping as the removed member, is made again for the learner', async () => {
    // The shape of a false loss proof (a bootstrap member removed while it started, seen in the
    // 100-cluster benchmark): the volume holds the removed member's log and no record says whose
    // it is, so the learner is added on it. Before: the pod, made before the add, crash-looped as
    // the removed member (a container restart does not run the start guard again) and the
    // learner never started, removed at its deadline and added again, for ever.
    const m = member(0);
    const before = (await statusIds())[m]!;
    await env.operator().process.stop();
    const started = Date.now();
    await env.waitFor(`etcd to remove ${before}`, () => env.etcdctl(ns, name, ['member', 'remove', before]), { timeoutMs: 60_000, intervalMs: 1_000 });
    lostIds.add(before);
    const cm = JSON.parse(await env.kubectl('get', 'configmap', `${name}-membership`, '-n', ns, '-o', 'json')) as { data: Record<string, string> };
    const records = JSON.parse(cm.data['member-volumes'] ?? '{}') as Record<string, string>;
    const kept = Object.fromEntries(Object.entries(records).filter(([, id]) => BigInt(id) !== BigInt(`0x${before}`)));
    expect(Object.keys(kept)).toHaveLength(Object.keys(records).length - 1);
    await env.kubectl('patch', 'configmap', `${name}-membership`, '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { 'member-volumes': JSON.stringify(kept) } }));
    await env.waitFor(`${m} to crash-loop as the removed member`, async () => ((await pod(m)).status?.containerStatuses?.find((c) => c.name === 'etcd')?.restartCount ?? 0) > 0 || undefined, { timeoutMs: 60_000 });
    await env.startOperator();
    await newIdFor(m, before);
    await converged(3, `${m} removed before its volume was recorded`, started);
  });

  it('the operator dies right after removing a lost member, and the next one finishes the replacement', async () => {
    const m = member(2);
    const before = (await statusIds())[m];
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-member-remove' });
    const started = Date.now();
    await loseVolume(m);
    await env.waitFor('the operator to crash after the removal', () => !crashing.process.running(), { timeoutMs: 120_000 });
    expect((await etcdMembers()).map((x) => x.id)).not.toContain(before);
    await env.startOperator();
    await newIdFor(m, before);
    await converged(3, 'replacement across an operator crash', started);
  });

  it('spec.replicas goes back to 3 before the learner is promoted', async () => {
    const voters = await statusIds();
    const started = Date.now();
    await scale(5);
    await env.waitFor(`${member(3)} listed as a learner`, async () => (await env.cluster(ns, name)).status?.members?.some((x) => x.name === member(3) && x.role === 'Learner'), { timeoutMs: 120_000, intervalMs: 250 });
    await scale(3);
    expect(await converged(3, '3 -> 5 -> 3 before the promotion', started)).toEqual(voters);
  });

  it('a learner whose pod is deleted again and again while it catches up', async () => {
    const started = Date.now();
    await scale(5);
    await env.waitFor(`${member(3)} listed as a learner`, async () => (await env.cluster(ns, name)).status?.members?.some((x) => x.name === member(3) && x.role === 'Learner'), { timeoutMs: 120_000, intervalMs: 250 });
    for (let i = 0; i < 3; i++) {
      const uid = (await pod(member(3)).catch(() => undefined))?.metadata?.uid;
      await env.kubectl('delete', 'pod', member(3), '-n', ns, '--wait=false', '--ignore-not-found');
      await env.waitFor(`${member(3)} recreated`, async () => {
        const p = await pod(member(3)).catch(() => undefined);
        return p && p.metadata!.uid !== uid && !p.metadata!.deletionTimestamp;
      }, { timeoutMs: 120_000, intervalMs: 250 });
      await new Promise((r) => setTimeout(r, 1_500));
    }
    await converged(5, 'learner pod deleted three times', started);
  });

  it('3 -> 1 -> 3', async () => {
    let started = Date.now();
    await scale(3);
    await converged(3, '5 -> 3', started);
    started = Date.now();
    await scale(1);
    await converged(1, '3 -> 1', started);
    started = Date.now();
    await scale(3);
    await converged(3, '1 -> 3', started);
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    await expectNoLoss(checker);
  });
});
