import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { EtcdAdminError } from '../../src/etcd/errors.js';
import type { EtcdAdmin } from '../../src/etcd/types.js';
import { type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';
import { freePorts } from '../harness/ports.js';
import { waitFor } from '../harness/wait.js';

// The admin client against one real etcd 3.6 member with mutual TLS, grown by one learner.

let cluster: EtcdTestCluster;
let admin: EtcdAdmin;

function adminFor(endpoints: string[]): EtcdAdmin {
  const { trustedCaPem, client } = cluster.pki;
  return createEtcdAdmin({ endpoints, tls: { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem }, callTimeoutMs: 5_000 });
}

/** What the call rejected with, failing the test if it resolved. */
async function rejection(call: Promise<unknown>): Promise<EtcdAdminError> {
  const outcome = await call.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(EtcdAdminError);
  return outcome as EtcdAdminError;
}

/** etcdctl's view of the members, IDs converted from its hex output to decimal without a number. */
async function etcdctlMembers(): Promise<{ id: string; name: string; isLearner: boolean }[]> {
  const out = await cluster.etcdctl(['member', 'list', '--hex', '-w', 'json']);
  expect(out.code, out.stderr).toBe(0);
  const parsed = JSON.parse(out.stdout) as { members: { ID: string; name?: string; isLearner?: boolean }[] };
  return parsed.members.map((m) => ({ id: BigInt(`0x${m.ID}`).toString(), name: m.name ?? '', isLearner: m.isLearner ?? false }));
}

beforeAll(async () => {
  cluster = await startEtcdCluster({ size: 1, label: 'etcd-admin' });
  admin = adminFor(cluster.endpoints());
});

afterAll(async () => {
  admin?.close();
  await cluster?.stop();
});

describe('etcd admin client against real etcd with TLS', () => {
  it('lists members and reads status, IDs as decimal strings that match etcdctl', async () => {
    const list = await admin.memberList();
    expect(list.members).toHaveLength(1);
    const [m0] = list.members;
    expect(m0).toMatchObject({ name: 'm0', isLearner: false, clientURLs: [cluster.members.get('m0')!.clientUrl] });
    expect(m0!.id).toMatch(/^\d+$/);
    expect(await etcdctlMembers()).toEqual([{ id: m0!.id, name: 'm0', isLearner: false }]);

    const status = await admin.status(cluster.members.get('m0')!.clientUrl);
    expect(status).toMatchObject({ memberId: m0!.id, leaderId: m0!.id, clusterId: list.clusterId, isLearner: false, errors: [] });
    expect(status.version).toBe(cluster.version.replace(/^v/, ''));
    expect(status.raftIndex).toBeGreaterThan(0n);
    expect(status.dbSize).toBeGreaterThan(0);
  });

  it('classifies errors: unknown member, promoting a voter, unreachable endpoint', async () => {
    const notFound = await rejection(admin.memberRemove('18446744073709551557'));
    expect(notFound).toMatchObject({ kind: 'MemberNotFound', retryable: false, maybeApplied: false, grpcCode: 5 });

    const [voter] = (await admin.memberList()).members;
    expect(await rejection(admin.memberPromote(voter!.id))).toMatchObject({ kind: 'MemberNotLearner', retryable: false });

    const [closedPort] = await freePorts(1);
    const unreachable = await rejection(admin.status(`https://127.0.0.1:${closedPort}`));
    expect(unreachable).toMatchObject({ kind: 'Unavailable', retryable: true });
  });

  it('reads fail over to the next endpoint when one is down', async () => {
    const [closedPort] = await freePorts(1);
    const mixed = adminFor([`https://127.0.0.1:${closedPort}`, ...cluster.endpoints()]);
    try {
      expect((await mixed.memberList()).members).toHaveLength(1);
      const probes = await mixed.statusAll();
      expect(probes.map((p) => ('status' in p ? 'status' : p.error.kind))).toEqual(['Unavailable', 'status']);
    } finally {
      mixed.close();
    }
  });

  it('adds a learner, refuses to promote it before it caught up, then promotes it', async () => {
    const voters = (await admin.memberList()).members;
    const ports = await cluster.reservePorts();
    const peerUrl = `https://127.0.0.1:${ports.peer}`;
    const added = await admin.memberAddLearner([peerUrl]);
    expect(added.member).toMatchObject({ name: '', peerURLs: [peerUrl], clientURLs: [], isLearner: true });
    expect(added.member.id).toMatch(/^\d+$/);
    expect(added.members.map((m) => m.id).sort()).toEqual([...voters.map((m) => m.id), added.member.id].sort());

    // Not started yet, so the leader's log is ahead of it for certain.
    const early = await rejection(admin.memberPromote(added.member.id));
    expect(early).toMatchObject({ kind: 'LearnerNotReady', retryable: true, maybeApplied: false });

    // etcd allows one learner at a time by default.
    const second = await rejection(admin.memberAddLearner([`https://127.0.0.1:${(await cluster.reservePorts()).peer}`]));
    expect(second).toMatchObject({ kind: 'TooManyLearners', retryable: false });

    const initialCluster = [...voters.map((m) => `${m.name}=${m.peerURLs[0]}`), `l1=${peerUrl}`].join(',');
    const learner = await cluster.startMember({ name: 'l1', initialCluster, state: 'existing', ports });
    const learnerStatus = await waitFor('learner status', () => admin.status(learner.clientUrl).catch(() => undefined));
    expect(learnerStatus).toMatchObject({ memberId: added.member.id, isLearner: true });
    const learnerFirst = adminFor([learner.clientUrl, ...voters.flatMap((m) => m.clientURLs)]);
    try {
      expect((await learnerFirst.memberList()).members).toHaveLength(2);
    } finally {
      learnerFirst.close();
    }

    // Test tooling only: the reconciler would requeue on LearnerNotReady instead of looping.
    const members = await waitFor('learner promoted', () =>
      admin.memberPromote(added.member.id).catch((err: unknown) => {
        if (err instanceof EtcdAdminError && err.kind === 'LearnerNotReady') return undefined;
        throw err;
      }),
    );
    expect(members.find((m) => m.id === added.member.id)).toMatchObject({ name: 'l1', isLearner: false });
    expect((await etcdctlMembers()).map((m) => m.isLearner)).toEqual([false, false]);
    await waitFor('promoted member reports itself a voter', async () => !(await admin.status(learner.clientUrl)).isLearner);
  });

  it('moves leadership through an admin that only knows a follower, finding the leader from the member list', async () => {
    const list = await admin.memberList();
    const leaderId = (await admin.status(cluster.endpoints()[0]!)).leaderId;
    const follower = list.members.find((m) => m.id !== leaderId)!;
    const followerOnly = adminFor(follower.clientURLs);
    try {
      expect(await rejection(followerOnly.moveLeader('12345'))).toMatchObject({ kind: 'BadLeaderTransferee', retryable: false });
      expect(await followerOnly.moveLeader(follower.id)).toEqual({ fromId: leaderId, toId: follower.id });
      for (const probe of await admin.statusAll()) expect('status' in probe && probe.status.leaderId).toBe(follower.id);
    } finally {
      followerOnly.close();
    }
  });
});
