import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askGuardOverHttp } from '../../src/controller/guard-evidence.js';
import type { KubeView } from '../../src/controller/observe-kube.js';
import { type EtcdView, observeEtcd } from '../../src/controller/observe-etcd.js';
import { askHeldGuards, guardGraceMs, heldByGuard, withStartGuardProblems } from '../../src/controller/start-guard.js';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import type { EtcdAdmin } from '../../src/etcd/types.js';
import { type GuardOptions, runGuard } from '../../src/member-init/main.js';
import { type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';
import { waitFor } from '../harness/wait.js';

// Whether a member "held by its start guard" is really lost, asked of the guard itself, against
// real etcd members and the real guard. Before: the pod's status alone (guard running past its
// grace) was the proof, so a pod status that lagged behind the kubelet while a health check timed
// out marked a running member lost, and the operator removed it (a healthy member, and a voter).
const ref = { name: 'g', namespace: 'default' };
const image = 'op:test';
let cluster: EtcdTestCluster;
let admin: EtcdAdmin;

beforeAll(async () => {
  cluster = await startEtcdCluster({ size: 0, label: 'guard-evidence' });
  const ports = await Promise.all([0, 1, 2].map(() => cluster.reservePorts()));
  const initialCluster = [0, 1, 2].map((i) => `g-${i}=https://127.0.0.1:${ports[i]!.peer}`).join(',');
  await Promise.all([0, 1, 2].map((i) => cluster.startMember({ name: `g-${i}`, initialCluster, state: 'new', ports: ports[i] })));
  await Promise.all([0, 1, 2].map((i) => cluster.waitHealthy(`g-${i}`)));
  const { trustedCaPem, client } = cluster.pki;
  admin = createEtcdAdmin({ endpoints: cluster.endpoints(), tls: { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem }, callTimeoutMs: 5_000 });
});

afterAll(async () => {
  admin?.close();
  for (const m of cluster?.members.values() ?? []) if (m.process.running()) process.kill(m.process.pid, 'SIGCONT');
  await cluster?.stop();
});

/** Every pod's status says its guard has run for 20 s: a status that lags, or a real hold. */
function staleKube(now: Date): KubeView {
  const pod = (): V1Pod => ({
    spec: { containers: [], initContainers: [{ name: 'member-init', image }] },
    status: { podIP: '127.0.0.1', initContainerStatuses: [{ name: 'member-init', image, imageID: '', ready: false, restartCount: 0, state: { running: { startedAt: new Date(now.getTime() - guardGraceMs - 5_000) } } }] },
  });
  return { pods: new Map([0, 1, 2].map((i) => [i, pod()])) } as unknown as KubeView;
}

const metricsPort = (name: string) => Number(new URL(cluster.members.get(name)!.metricsUrl).port);

async function judge(view: EtcdView, name: string) {
  const now = new Date();
  const kube = staleKube(now);
  // Harness members share 127.0.0.1, so the asker reaches the one member's metrics port.
  const answers = await askHeldGuards(view, kube, now, askGuardOverHttp(1_000, metricsPort(name)));
  const member = withStartGuardProblems(view, kube, now, { answers, guardImage: image })!.members.find((m) => m.name === name || m.peerURLs[0] === cluster.members.get(name)!.peerUrl)!;
  return { member, before: heldByGuard(kube.pods.get(member.ordinal!), now) };
}

describe('the start guard\'s word on a member its pod\'s status shows held', () => {
  it('is no proof while etcd runs there: a hung member, or one whose health check timed out', async () => {
    const view = await observeEtcd(admin, ref);
    if (view.members.find((m) => m.isLeader)?.name === 'g-2') await admin.moveLeader(view.members.find((m) => m.name === 'g-0')!.id);
    // A health check that timed out while etcd runs: etcd's metrics listener answers the port.
    const timedOut = { ...view, members: view.members.map((m) => (m.name === 'g-2' ? { ...m, healthy: false, problem: 'no answer within 5000 ms' } : m)) };
    const running = await judge(timedOut, 'g-2');
    expect(running.before).toBe(true);
    expect(running.member.heldByGuard).toBeUndefined();
    expect(running.member.problem).toMatch(/HTTP 404 .*etcd runs in the pod.*not taken as proof/);

    // A hung member (SIGSTOP): the kernel accepts the connection, nothing answers.
    const hung = cluster.members.get('g-2')!;
    process.kill(hung.process.pid, 'SIGSTOP');
    try {
      const seen = await observeEtcd(admin, ref);
      expect(seen.members.find((m) => m.name === 'g-2')?.healthy).toBe(false);
      const stopped = await judge(seen, 'g-2');
      expect(stopped.before).toBe(true);
      expect(stopped.member.heldByGuard).toBeUndefined();
      expect(stopped.member.problem).toMatch(/the guard did not answer \(no answer within 1000 ms\).*not taken as proof/);
    } finally {
      process.kill(hung.process.pid, 'SIGCONT');
    }
    await cluster.waitHealthy('g-2');
  });

  it('is proof when the guard holds the member for a volume found empty, and the guard frees the port once the member is replaced', async () => {
    const lost = cluster.members.get('g-2')!;
    const listed = (await admin.memberList()).members;
    const lostId = listed.find((m) => m.name === 'g-2')!.id;
    await cluster.stopMember('g-2', 'SIGKILL');
    rmSync(lost.dataDir, { recursive: true, force: true });
    mkdirSync(lost.dataDir, { recursive: true });
    const certs = await cluster.pki.certsFor({ name: 'guard', host: '127.0.0.1' });
    const tlsDir = join(cluster.dir, 'guard-tls');
    mkdirSync(tlsDir, { recursive: true });
    writeFileSync(join(tlsDir, 'ca.crt'), cluster.pki.trustedCaPem);
    writeFileSync(join(tlsDir, 'tls.crt'), certs.peer.certPem);
    writeFileSync(join(tlsDir, 'tls.key'), certs.peer.keyPem);
    const initialCluster = [...cluster.members.values()].map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const options: GuardOptions = { dataDir: lost.dataDir, peerURL: lost.peerUrl, initialCluster, state: 'existing', tlsDir, pollMs: 500, callTimeoutMs: 2_000, statusHost: '127.0.0.1', statusPort: metricsPort('g-2') };
    const clientURLOf = (peerURL: string) => [...cluster.members.values()].find((m) => m.peerUrl === peerURL)?.clientUrl ?? peerURL;
    const lines: string[] = [];
    const guard = runGuard(options, (_level, message, fields) => lines.push(`${message}: ${String(fields.reason ?? fields.error)}`), clientURLOf);

    const ask = askGuardOverHttp(1_000, metricsPort('g-2'));
    const said = await waitFor('the guard to name the lost member', async () => {
      const answer = await ask('127.0.0.1');
      return answer.kind === 'holding' && answer.lostMember ? answer : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(said.lostMember).toBe(lostId);
    const held = await judge(await observeEtcd(admin, ref), 'g-2');
    expect(held.member.heldByGuard).toBe(true);
    expect(held.member.problem).toMatch(/must be replaced by a new member/);

    // What the operator then does: remove the lost member and add its volume as a new learner.
    await admin.memberRemove(lostId);
    const added = await waitFor('the new learner added', () => admin.memberAddLearner([lost.peerUrl]).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 250 });
    await guard;
    expect(lines.at(-1)).toContain(`added as learner ${added.member.id}`);
    // Closed before etcd starts: etcd's metrics listener can bind the port.
    expect(await ask('127.0.0.1')).toEqual({ kind: 'nothing' });
  });
});
