import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { EtcdAdminError } from '../../src/etcd/errors.js';
import type { EtcdAdmin, EtcdMember } from '../../src/etcd/types.js';
import { type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';
import { waitFor } from '../harness/wait.js';

// Grow 1 -> 3 -> 5 one learner at a time and shrink 5 -> 3 (the leader last moved away first),
// through the admin client against real etcd 3.6 with TLS, while a writer keeps writing.

let cluster: EtcdTestCluster;
let writer: Writer;

function tls() {
  const { trustedCaPem, client } = cluster.pki;
  return { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem };
}

/** A fresh admin per step, over the members that run, as the reconciler builds one per pass. */
async function withAdmin<T>(fn: (admin: EtcdAdmin) => Promise<T>): Promise<T> {
  const admin = createEtcdAdmin({ endpoints: cluster.endpoints(), tls: tls(), callTimeoutMs: 5_000 });
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/**
 * Puts `writer/<n>` = n for n = 1, 2, ... through its own etcd3 client with etcd3's default
 * retries (a put of the same value is safe to repeat). Endpoints change only between puts.
 */
class Writer {
  acked = 0;
  readonly failures: string[] = [];
  private client: Etcd3;
  private nextEndpoints: string[] | undefined;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(endpoints: string[]) {
    this.client = this.connect(endpoints);
    this.loop = this.run();
  }

  setEndpoints(endpoints: string[]): void {
    this.nextEndpoints = endpoints;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.client.close();
  }

  private connect(endpoints: string[]): Etcd3 {
    const { caPem, certPem, keyPem } = tls();
    const credentials = { rootCertificate: Buffer.from(caPem), certChain: Buffer.from(certPem), privateKey: Buffer.from(keyPem) };
    // A generous deadline: a write that is slow on a loaded machine is not a failed write.
    return new Etcd3({ hosts: endpoints, credentials, defaultCallOptions: () => ({ deadline: Date.now() + 30_000 }) });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.nextEndpoints) {
        this.client.close();
        this.client = this.connect(this.nextEndpoints);
        this.nextEndpoints = undefined;
      }
      const n = this.acked + 1;
      try {
        await this.client.put(key(n)).value(String(n));
        this.acked = n;
      } catch (err) {
        this.failures.push(`write ${n}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(5);
    }
  }
}

/**
 * Test tooling only, standing in for the reconciler's requeue: etcd turns a membership change
 * away with UnhealthyCluster (before applying anything) until every voter has been connected for
 * its health interval (5s), so a change right after a member joined is refused for a moment.
 */
function untilAccepted<T>(what: string, change: (admin: EtcdAdmin) => Promise<T>): Promise<T> {
  return waitFor(what, () =>
    withAdmin(change).catch((err: unknown) => {
      if (err instanceof EtcdAdminError && err.kind === 'UnhealthyCluster' && !err.maybeApplied) return undefined;
      throw err;
    }),
  { timeoutMs: 30_000, intervalMs: 500 });
}

const key = (n: number) => `writer/${String(n).padStart(8, '0')}`;

function voterNames(members: EtcdMember[]): string[] {
  return members.filter((m) => !m.isLearner).map((m) => m.name).sort();
}

/** One scale-up step: add a learner, start its process, promote it once it caught up. */
async function addMember(name: string): Promise<void> {
  const ports = await cluster.reservePorts();
  const peerUrl = `https://127.0.0.1:${ports.peer}`;
  const { member, members } = await untilAccepted(`add learner ${name}`, (admin) => admin.memberAddLearner([peerUrl]));
  const initialCluster = members.map((m) => `${m.id === member.id ? name : m.name}=${m.peerURLs[0]}`).join(',');
  await cluster.startMember({ name, initialCluster, state: 'existing', ports });
  // Test tooling only: the reconciler requeues on LearnerNotReady instead of looping.
  await waitFor(`${name} promoted`, () =>
    withAdmin((admin) => admin.memberPromote(member.id)).catch((err: unknown) => {
      if (err instanceof EtcdAdminError && err.kind === 'LearnerNotReady') return undefined;
      throw err;
    }),
  );
  await cluster.waitHealthy(name);
  writer.setEndpoints(cluster.endpoints());
}

/**
 * Whether a member's /metrics page shows its transport holding `memberId` (decimal) as active.
 * Per peer, not a sum: etcd never lowers the gauge of a peer it removed, only of one it lost.
 */
function seesActive(metrics: string, memberId: string): boolean {
  const remote = `Remote="${BigInt(memberId).toString(16)}"`;
  return metrics.split('\n').some((l) => l.startsWith('etcd_network_active_peers{') && l.includes(remote) && Number(l.split(' ').at(-1)) > 0);
}

/** The leader every running member names, once they all name the same one. */
function agreedLeader(): Promise<string> {
  return waitFor('every member to name the same leader', async () => {
    const probes = await withAdmin((a) => a.statusAll());
    const leaders = new Set(probes.map((p) => ('status' in p ? p.status.leaderId : `error: ${p.error.kind}`)));
    const [leader] = leaders;
    return leaders.size === 1 && leader && !leader.startsWith('error') && leader !== '0' ? leader : undefined;
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

/** One scale-down step: the writer stops using the member, etcd removes it, its process ends. */
async function removeMember(member: EtcdMember): Promise<EtcdMember[]> {
  writer.setEndpoints(cluster.endpoints().filter((url) => !member.clientURLs.includes(url)));
  const leaderId = await withAdmin(async (admin) => (await admin.status(cluster.endpoints()[0]!)).leaderId);
  expect(leaderId, 'never remove the leader').not.toBe(member.id);
  const members = await untilAccepted(`remove ${member.name}`, (admin) => admin.memberRemove(member.id));
  await cluster.stopMember(member.name);
  return members;
}

beforeAll(async () => {
  // Slower elections than etcd's default (100 ms / 1 s): on a loaded machine a spontaneous
  // election would move the leader under the test's feet, and these tests read the leader.
  cluster = await startEtcdCluster({ size: 1, label: 'etcd-membership', flags: ['--heartbeat-interval=200', '--election-timeout=3000'] });
  writer = new Writer(cluster.endpoints());
});

afterAll(async () => {
  await writer?.stop();
  await cluster?.stop();
});

describe('membership changes through the admin client, with a writer running', () => {
  it('grows 1 -> 3 -> 5, one learner at a time', async () => {
    for (const name of ['m1', 'm2']) await addMember(name);
    expect(voterNames((await withAdmin((a) => a.memberList())).members)).toEqual(['m0', 'm1', 'm2']);
    for (const name of ['m3', 'm4']) await addMember(name);
    const list = await withAdmin((a) => a.memberList());
    expect(voterNames(list.members)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const leader = await agreedLeader();
    expect(list.members.map((m) => m.id)).toContain(leader);
  });

  it('shrinks 5 -> 3, moving leadership away before removing the leader', async () => {
    const members = (await withAdmin((a) => a.memberList())).members;
    const leaderId = (await withAdmin((a) => a.status(cluster.endpoints()[0]!))).leaderId;
    const leader = members.find((m) => m.id === leaderId)!;
    const others = members.filter((m) => m.id !== leaderId);
    const target = others[0]!;

    const moved = await withAdmin((a) => a.moveLeader(target.id));
    expect(moved).toEqual({ fromId: leader.id, toId: target.id });
    // Followers learn of the new leader from its next message: poll until all agree.
    expect(await agreedLeader()).toBe(target.id);

    const afterLeader = await removeMember(leader);
    expect(afterLeader.map((m) => m.id)).not.toContain(leader.id);
    const afterSecond = await removeMember(others.at(-1)!);
    expect(afterSecond).toHaveLength(3);

    const list = await withAdmin((a) => a.memberList());
    expect(list.members.map((m) => m.id).sort()).toEqual(afterSecond.map((m) => m.id).sort());
    expect(list.members.every((m) => !m.isLearner)).toBe(true);
    expect(list.members.map((m) => m.id)).toContain(await agreedLeader());
  });

  it('lost no acknowledged write and failed none', async () => {
    await writer.stop();
    expect(writer.failures).toEqual([]);
    expect(writer.acked).toBeGreaterThan(0);
    const reader = new Etcd3({
      hosts: cluster.endpoints(),
      credentials: { rootCertificate: Buffer.from(tls().caPem), certChain: Buffer.from(tls().certPem), privateKey: Buffer.from(tls().keyPem) },
    });
    try {
      const stored = await reader.getAll().prefix('writer/').strings();
      for (let n = 1; n <= writer.acked; n++) expect(stored[key(n)], key(n)).toBe(String(n));
      console.log(`writer: ${writer.acked} acknowledged writes, all ${writer.acked} read back, ${writer.failures.length} failed`);
    } finally {
      reader.close();
    }
  });

  it('refuses to remove a voter while another is down (UnhealthyCluster)', async () => {
    const members = (await withAdmin((a) => a.memberList())).members;
    const leaderId = (await withAdmin((a) => a.status(cluster.endpoints()[0]!))).leaderId;
    const [down, victim] = members.filter((m) => m.id !== leaderId);
    await cluster.stopMember(down!.name);
    // etcd's check counts the peers its transport sees as active; only once every survivor has
    // noticed the stopped one is the refusal certain (otherwise the removal would go through).
    await waitFor('the survivors to see the stopped member inactive', async () => {
      const running = [...cluster.members.values()].filter((m) => m.process.running());
      const pages = await Promise.all(running.map(async (m) => (await fetch(`${m.metricsUrl}/metrics`)).text()));
      return pages.every((page) => !seesActive(page, down!.id));
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const refused = await withAdmin((a) => a.memberRemove(victim!.id)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(EtcdAdminError);
    expect(refused).toMatchObject({ kind: 'UnhealthyCluster', retryable: true });
    expect((await withAdmin((a) => a.memberList())).members).toHaveLength(3);
  });
});
