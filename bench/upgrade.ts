// Upgrade of 3 members 3.5.35 -> 3.6.16 under the operator, with the e2e write checker running,
// beside its floor measured in the same run: a bare rolling restart of 3 etcd processes onto the
// new binaries, followers first, leadership moved away, the old leader last, with the same checker.
// The figures: patch -> converged, restart start -> all healthy, and each side's longest write stall.
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { createEtcdAdmin } from '../src/etcd/client.js';
import type { EtcdAdmin } from '../src/etcd/types.js';
import { clientServiceHosts, memberSelector, selectorString } from '../src/resources/names.js';
import { Checker, type CheckerReport } from '../test/e2e/checker.js';
import { type EtcdTestCluster, startEtcdCluster } from '../test/harness/etcd-cluster.js';
import { httpGet } from '../test/harness/http.js';
import { waitFor } from '../test/harness/wait.js';
import { type BenchEnvironment, etcdCluster } from './env.js';
import { deleteClusters, ensureNamespace } from './kube.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const ns = 'upgrade';
const from = '3.5.35';
const to = '3.6.16';
const section = `Upgrade: 3 members ${from} -> ${to} with writes running`;

/** Starts the checker and returns once it has acknowledged writes, so its first dial is not counted. */
export async function running(checker: Checker): Promise<Checker> {
  checker.start();
  await waitFor('the checker writing', () => checker.acknowledgedSoFar() >= 10, { timeoutMs: 60_000, intervalMs: 20 });
  return checker;
}

async function healthy(cluster: EtcdTestCluster, name: string): Promise<boolean> {
  const r = await httpGet(`${cluster.members.get(name)!.metricsUrl}/health`).catch(() => undefined);
  return r?.status === 200 && (JSON.parse(r.body) as { health: string }).health === 'true';
}

/** Stops a member and starts it again on the new binary with its data, ports and certificates. */
async function restartOnto(cluster: EtcdTestCluster, name: string): Promise<void> {
  const m = cluster.members.get(name)!;
  const port = (url: string) => Number(new URL(url).port);
  const pem = (path: string) => readFileSync(path, 'utf8');
  const certs = { server: { certPem: pem(m.files.serverCert), keyPem: pem(m.files.serverKey) }, peer: { certPem: pem(m.files.peerCert), keyPem: pem(m.files.peerKey) } };
  const initialCluster = [...cluster.members.values()].map((x) => `${x.name}=${x.peerUrl}`).join(',');
  await cluster.stopMember(name);
  await cluster.startMember({ name, initialCluster, state: 'existing', certs, version: to, ports: { client: port(m.clientUrl), peer: port(m.peerUrl), metrics: port(m.metricsUrl) } });
  await waitFor(`${name} healthy on ${to}`, () => healthy(cluster, name), { intervalMs: 20, timeoutMs: 60_000 });
}

/** The floor: the same roll done by hand on bare processes. */
async function bareRoll(): Promise<{ ms: number; checker: CheckerReport }> {
  const cluster = await startEtcdCluster({ size: 3, version: from, label: 'bench-upgrade-floor' });
  const { trustedCaPem, client } = cluster.pki;
  const tls = { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem };
  // A fresh admin per call, as the reconciler builds one per pass: etcd3's circuit breaker keeps
  // a member it saw down refused for a while after it is back.
  const withAdmin = async <T>(fn: (admin: EtcdAdmin) => Promise<T>): Promise<T> => {
    const admin = createEtcdAdmin({ endpoints: cluster.endpoints(), tls, callTimeoutMs: 5_000 });
    try {
      return await fn(admin);
    } finally {
      admin.close();
    }
  };
  try {
    const checker = await running(new Checker({ tls, serverName: 'localhost', endpoints: () => Promise.resolve(cluster.endpoints()) }));
    const t0 = performance.now();
    const byName = new Map((await withAdmin((a) => a.memberList())).members.map((m) => [m.name, m.id]));
    const leaderId = (await withAdmin((a) => a.status(cluster.members.get('m0')!.clientUrl))).leaderId;
    const leader = [...byName].find(([, id]) => id === leaderId)![0];
    const followers = [...byName.keys()].filter((n) => n !== leader);
    for (const name of followers) await restartOnto(cluster, name);
    await withAdmin((a) => a.moveLeader(byName.get(followers[0]!)!));
    await restartOnto(cluster, leader);
    const ms = performance.now() - t0;
    return { ms, checker: await checker.stop() };
  } finally {
    await cluster.stop();
  }
}

/**
 * The same checker as the e2e tests, with the user certificate. Its endpoints: the Ready member
 * pods (`ready`, as the e2e tests see them: a pod that is deleted or not Ready leaves the list and
 * comes back, each change a new client with new TLS connections to every member), or each
 * member's stable address (`stable`: the last address of every member pod seen, kept while its pod
 * is recreated), as the floor's checker knows every member's address all along and routes around
 * a member down for its restart.
 */
export async function podChecker(env: BenchEnvironment, name: string, namespace = ns, options: { members?: 'ready' | 'stable'; trace?: (what: string) => void } = {}): Promise<Checker> {
  const secret = await env.core.readNamespacedSecret({ name: `${name}-client-tls`, namespace });
  const pem = (k: string) => Buffer.from(secret.data![k]!, 'base64').toString('utf8');
  const labelSelector = selectorString(memberSelector({ name, namespace }));
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const stable = new Map<string, string>();
  return new Checker({
    trace: options.trace,
    tls: { caPem: pem('ca.crt'), certPem: pem('tls.crt'), keyPem: pem('tls.key') },
    serverName: clientServiceHosts({ name, namespace }).at(-1)!,
    endpoints: async () => {
      const pods = (await env.core.listNamespacedPod({ namespace, labelSelector })).items.filter((p) => p.status?.podIP);
      if (options.members !== 'stable') return pods.filter(ready).map((p) => `https://${p.status!.podIP}:2379`);
      for (const p of pods) stable.set(p.metadata!.name!, p.status!.podIP!);
      return [...stable.values()].map((ip) => `https://${ip}:2379`);
    },
  });
}

async function operatorRoll(env: BenchEnvironment, name: string): Promise<{ ms: number; checker: CheckerReport }> {
  await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3, { version: from }));
  await env.waitConverged(ns, name, 3);
  // Every pod Ready, so the checker starts with all three endpoints.
  const labelSelector = selectorString(memberSelector({ name, namespace: ns }));
  await waitFor('3 pods Ready', async () => (await env.core.listNamespacedPod({ namespace: ns, labelSelector })).items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 3, { timeoutMs: 60_000 });
  // Every member's stable address, as the floor's checker has them (see podChecker).
  const checker = await running(await podChecker(env, name, ns, { members: 'stable' }));
  const t0 = performance.now();
  await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: to } })]);
  await waitFor(`${name} converged on ${to}`, async () => {
    if (!(await env.converged(ns, name, 3))) return false;
    const c = await env.cluster(ns, name);
    return c.status?.currentVersion === to && c.status.members!.every((m) => m.version === to);
  }, { timeoutMs: 300_000, intervalMs: 100 });
  const ms = performance.now() - t0;
  return { ms, checker: await checker.stop() };
}

export async function upgradeBench(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  const checkers: Record<string, Omit<CheckerReport, 'reads' | 'failedReads'>[]> = { floor: [], operator: [] };
  const keep = ({ reads: _r, failedReads: _f, ...rest }: CheckerReport) => rest;
  for (let run = 0; run < options.runs; run++) {
    const bare = await bareRoll();
    results.add({ id: 'upgrade.floor', section, label: `floor: bare rolling restart of 3 processes onto ${to}, leader last`, unit: 'ms' }, bare.ms);
    results.add({ id: 'upgrade.floor.stall', section, label: 'floor: longest write stall', unit: 'ms' }, bare.checker.longestStallMs);
    checkers.floor!.push(keep(bare.checker));
    const name = `upg-${run}`;
    const op = await operatorRoll(env, name);
    results.add({ id: 'upgrade.operator', section, label: `EtcdCluster of 3: patch spec.version -> converged on ${to}`, unit: 'ms', floor: 'upgrade.floor' }, op.ms);
    results.add({ id: 'upgrade.operator.stall', section, label: 'operator: longest write stall', unit: 'ms', floor: 'upgrade.floor.stall' }, op.checker.longestStallMs);
    checkers.operator!.push(keep(op.checker));
    if (op.checker.lost > 0 || op.checker.staleReads > 0 || bare.checker.lost > 0) throw new Error(`lost or stale writes: ${JSON.stringify({ bare: bare.checker, operator: op.checker })}`);
    await deleteClusters(env, ns, [name]);
    console.log(`[bench] upgrade run ${run + 1}/${options.runs} done: operator ${Math.round(op.ms)} ms (stall ${op.checker.longestStallMs} ms), floor ${Math.round(bare.ms)} ms (stall ${bare.checker.longestStallMs} ms)`);
  }
  results.details['upgrade.checker'] = checkers;
}
