// The physical floor: the same etcd binaries with the same mutual TLS, started and reconfigured
// directly, with no Kubernetes and no operator in between. Every operator figure is read against it.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEtcdAdmin } from '../src/etcd/client.js';
import { EtcdAdminError } from '../src/etcd/errors.js';
import type { EtcdAdmin } from '../src/etcd/types.js';
import { type EtcdMember, type EtcdTestCluster, type MemberCerts, type TestPki, generatedTestPki, startEtcdCluster } from '../test/harness/etcd-cluster.js';
import { httpGet } from '../test/harness/http.js';
import { waitFor } from '../test/harness/wait.js';
import type { Results } from './results.js';

const section = 'Floor: bare etcd with TLS';
/** Time etcd refused each change before accepting it, reported in the details. */
const refusedMs: { what: string; ms: number }[] = [];
/** Poll fast: the floor is a second or two, and 100 ms steps would be a tenth of it. */
const pollMs = 20;

/** Certificates issued before the clock starts: the floor measures etcd, not RSA key generation. */
export interface Prepared {
  pki: TestPki;
  certs: Map<string, MemberCerts>;
}

export async function prepare(names: string[]): Promise<Prepared> {
  const pki = await generatedTestPki();
  const certs = new Map(await Promise.all(names.map(async (name) => [name, await pki.certsFor({ name, host: '127.0.0.1' })] as const)));
  return { pki, certs };
}

function healthy(m: EtcdMember): Promise<boolean> {
  return httpGet(`${m.metricsUrl}/health`).then((r) => r.status === 200 && (JSON.parse(r.body) as { health: string }).health === 'true');
}

export function waitHealthy(m: EtcdMember): Promise<boolean> {
  return waitFor(`${m.name} healthy`, () => healthy(m).catch(() => false), { process: m.process, intervalMs: pollMs, timeoutMs: 60_000 });
}

/** Starts `size` members at once and returns the cluster and the ms from first spawn to all healthy. */
async function bareCluster(size: number, prepared: Prepared): Promise<{ cluster: EtcdTestCluster; ms: number }> {
  const cluster = await startEtcdCluster({ size: 0, pki: prepared.pki, label: 'bench-floor' });
  try {
    const names = Array.from({ length: size }, (_, i) => `m${i}`);
    const ports = await Promise.all(names.map(() => cluster.reservePorts()));
    const initialCluster = names.map((n, i) => `${n}=https://127.0.0.1:${ports[i]!.peer}`).join(',');
    const t0 = performance.now();
    const members = await Promise.all(names.map((name, i) => cluster.startMember({ name, initialCluster, state: 'new', ports: ports[i]!, certs: prepared.certs.get(name)! })));
    await Promise.all(members.map(waitHealthy));
    return { cluster, ms: performance.now() - t0 };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/**
 * Sends a membership change until etcd takes it: it refuses changes (before applying anything)
 * while a member joined less than 5 s ago or a learner lags. Returns when the accepted try began.
 */
async function untilAccepted<T>(what: string, change: () => Promise<T>): Promise<{ value: T; acceptedAt: number }> {
  const firstAt = performance.now();
  let attemptAt = 0;
  const value = await waitFor(what, async () => {
    attemptAt = performance.now();
    return change().catch((err: unknown) => {
      if (err instanceof EtcdAdminError && (err.kind === 'UnhealthyCluster' || err.kind === 'LearnerNotReady') && !err.maybeApplied) return undefined;
      throw err;
    });
  }, { intervalMs: pollMs, timeoutMs: 60_000 });
  // How long etcd turned the change away, to tell its rules from our own slowness.
  refusedMs.push({ what: what.split(' ')[0]!, ms: Math.round(attemptAt - firstAt) });
  return { value, acceptedAt: attemptAt };
}

export function adminFor(cluster: EtcdTestCluster): EtcdAdmin {
  const { trustedCaPem, client } = cluster.pki;
  return createEtcdAdmin({ endpoints: cluster.endpoints(), tls: { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem }, callTimeoutMs: 5_000 });
}

/** Add a learner, start its process, promote it once caught up, wait until it is healthy. */
export async function addMember(cluster: EtcdTestCluster, admin: EtcdAdmin, name: string, prepared: Prepared): Promise<{ acceptedAt: number }> {
  const ports = await cluster.reservePorts();
  const peerUrl = `https://127.0.0.1:${ports.peer}`;
  const { value: added, acceptedAt } = await untilAccepted(`add ${name}`, () => admin.memberAddLearner([peerUrl]));
  const initialCluster = added.members.map((m) => `${m.id === added.member.id ? name : m.name}=${m.peerURLs[0]}`).join(',');
  const member = await cluster.startMember({ name, initialCluster, state: 'existing', ports, certs: prepared.certs.get(name)! });
  await untilAccepted(`promote ${name}`, () => admin.memberPromote(added.member.id));
  await waitHealthy(member);
  return { acceptedAt };
}

async function removeMember(cluster: EtcdTestCluster, admin: EtcdAdmin, name: string): Promise<void> {
  const id = (await admin.memberList()).members.find((m) => m.name === name)?.id;
  if (!id) throw new Error(`no member ${name}`);
  await untilAccepted(`remove ${name}`, () => admin.memberRemove(id));
  await cluster.stopMember(name);
}

/** A member killed with SIGKILL and started again on its data directory, ports and certificates. */
async function restartKilled(cluster: EtcdTestCluster, name: string): Promise<number> {
  const m = cluster.members.get(name)!;
  const port = (url: string) => Number(new URL(url).port);
  const pem = (path: string) => readFileSync(path, 'utf8');
  const certs = { server: { certPem: pem(m.files.serverCert), keyPem: pem(m.files.serverKey) }, peer: { certPem: pem(m.files.peerCert), keyPem: pem(m.files.peerKey) } };
  const initialCluster = [...cluster.members.values()].map((x) => `${x.name}=${x.peerUrl}`).join(',');
  await cluster.stopMember(name, 'SIGKILL');
  const t0 = performance.now();
  const again = await cluster.startMember({ name, initialCluster, state: 'existing', certs, ports: { client: port(m.clientUrl), peer: port(m.peerUrl), metrics: port(m.metricsUrl) } });
  await waitHealthy(again);
  return performance.now() - t0;
}

/** One round of membership figures on a fresh 3-member cluster. */
async function membershipRound(results: Results, prepared: Prepared): Promise<void> {
  const { cluster } = await bareCluster(3, prepared);
  const admin = adminFor(cluster);
  try {
    await admin.memberList(); // dial before any clock starts
    // 3 -> 5 as the operator does it: one learner at a time, each promoted before the next.
    const first = await addMember(cluster, admin, 'm3', prepared);
    const oneDone = performance.now();
    await addMember(cluster, admin, 'm4', prepared);
    const fiveDone = performance.now();
    results.add({ id: 'floor.learner', section, label: 'learner add + start + promote (one member)', unit: 'ms' }, oneDone - first.acceptedAt);
    results.add({ id: 'floor.scaleUp', section, label: 'scale 3 -> 5 (two learners, one after the other)', unit: 'ms' }, fiveDone - first.acceptedAt);
    // 5 -> 3 once the cluster has settled, as it has when the operator is asked to scale down
    // (etcd refuses a removal for 5 s after a member joined; the details show when it did).
    await sleep(5_500);
    const leader = (await admin.status(cluster.members.get('m0')!.clientUrl)).leaderId;
    const byName = new Map((await admin.memberList()).members.map((m) => [m.name, m.id]));
    const leaving = ['m4', 'm3', 'm2', 'm1'].filter((n) => byName.get(n) !== leader).slice(0, 2);
    const t0 = performance.now();
    for (const name of leaving) await removeMember(cluster, admin, name);
    results.add({ id: 'floor.scaleDown', section, label: 'scale 5 -> 3 (two removals, cluster settled)', unit: 'ms' }, performance.now() - t0);
    const victim = [...cluster.members.values()].find((m) => m.process.running() && byName.get(m.name) !== leader)!.name;
    results.add({ id: 'floor.restart', section, label: 'member SIGKILLed, restarted on its data -> healthy', unit: 'ms' }, await restartKilled(cluster, victim));
  } finally {
    admin.close();
    await cluster.stop();
  }
}

export async function floorScenarios(results: Results, runs: number): Promise<void> {
  const prepared = await prepare(['m0', 'm1', 'm2', 'm3', 'm4']);
  for (let run = 0; run < runs; run++) {
    for (const size of [1, 3, 5]) {
      const { cluster, ms } = await bareCluster(size, prepared);
      await cluster.stop();
      results.add({ id: `floor.start${size}`, section, label: `${size} member${size > 1 ? 's' : ''}: process start -> all healthy`, unit: 'ms' }, ms);
    }
    await membershipRound(results, prepared);
    console.log(`[bench] floor run ${run + 1}/${runs} done`);
  }
  const byStep: Record<string, number[]> = {};
  for (const r of refusedMs) (byStep[r.what] ??= []).push(r.ms);
  results.details['floor.etcdRefusedMs'] = byStep;
}
