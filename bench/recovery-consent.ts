// Quorum-loss recovery from the survivor with the user's consent (issue 16): two of three members
// lost with their volumes, QuorumLost, then spec.recovery naming the UID -> Available and 3/3.
// Its floor, in the same round: three bare members with TLS, two SIGKILLed with their data
// directories removed, the survivor restarted with --force-new-cluster, then two learners added
// and promoted one after the other. The e2e write checker runs on both sides throughout.
import { readFileSync, rmSync } from 'node:fs';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { EtcdCluster } from '../src/api/types.generated.js';
import { Checker, type CheckerReport } from '../test/e2e/checker.js';
import { startEtcdCluster } from '../test/harness/etcd-cluster.js';
import { httpGet } from '../test/harness/http.js';
import { waitFor } from '../test/harness/wait.js';
import { type BenchEnvironment, etcdCluster, isConverged } from './env.js';
import { type Prepared, addMember, adminFor, prepare, waitHealthy } from './floor.js';
import { deleteClusters, ensureNamespace, memberPods, podReady, timeline } from './kube.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';
import { podChecker } from './upgrade.js';

const ns = 'consent';
const section = 'Quorum-loss recovery from the survivor, with consent: 2 of 3 members lost with their volumes';
/** Acknowledged writes before the loss: the learners catch up on these. */
const writesBefore = 200;

async function writing(checker: Checker): Promise<Checker> {
  checker.start();
  await waitFor(`${writesBefore} writes acknowledged`, () => checker.acknowledgedSoFar() >= writesBefore, { timeoutMs: 120_000, intervalMs: 50 });
  return checker;
}

interface BareRecovery {
  /** The survivor's SIGTERM until its process exited (without a quorum, etcd takes its time). */
  stopMs: number;
  /** Survivor stopped -> healthy alone after --force-new-cluster. */
  aloneMs: number;
  /** Survivor stopped -> 3 healthy voters. */
  ms: number;
  /** How long etcd refused each learner add before taking it. */
  refusedMs: number[];
  checker: CheckerReport;
}

/** The floor: the same recovery done by hand on bare processes. */
async function bareRecovery(prepared: Prepared): Promise<BareRecovery> {
  const cluster = await startEtcdCluster({ size: 0, pki: prepared.pki, label: 'bench-consent-floor' });
  try {
    const names = ['m0', 'm1', 'm2'];
    const ports = await Promise.all(names.map(() => cluster.reservePorts()));
    const initialCluster = names.map((n, i) => `${n}=https://127.0.0.1:${ports[i]!.peer}`).join(',');
    const members = await Promise.all(names.map((name, i) => cluster.startMember({ name, initialCluster, state: 'new', ports: ports[i]!, certs: prepared.certs.get(name)! })));
    await Promise.all(members.map(waitHealthy));
    const { trustedCaPem, client } = cluster.pki;
    const checker = await writing(new Checker({ tls: { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem }, serverName: 'localhost', endpoints: () => Promise.resolve(cluster.endpoints()) }));
    for (const name of ['m0', 'm1']) {
      await cluster.stopMember(name, 'SIGKILL');
      rmSync(cluster.members.get(name)!.dataDir, { recursive: true, force: true });
    }
    const survivor = cluster.members.get('m2')!;
    // Lost as the operator sees it: the survivor no longer reports healthy (no leader).
    await waitFor('m2 without quorum', async () => (await httpGet(`${survivor.metricsUrl}/health`).catch(() => undefined))?.body.includes('"true"') !== true, { timeoutMs: 60_000, intervalMs: 100 });
    const port = (url: string) => Number(new URL(url).port);
    const pem = (path: string) => readFileSync(path, 'utf8');
    const certs = { server: { certPem: pem(survivor.files.serverCert), keyPem: pem(survivor.files.serverKey) }, peer: { certPem: pem(survivor.files.peerCert), keyPem: pem(survivor.files.peerKey) } };
    const t0 = performance.now();
    await cluster.stopMember('m2');
    const stopMs = performance.now() - t0;
    const again = await cluster.startMember({ name: 'm2', initialCluster: `m2=${survivor.peerUrl}`, state: 'existing', certs, flags: ['--force-new-cluster'], ports: { client: port(survivor.clientUrl), peer: port(survivor.peerUrl), metrics: port(survivor.metricsUrl) } });
    await waitHealthy(again);
    const aloneMs = performance.now() - t0;
    // A fresh admin on the survivor alone: the lost members' addresses are gone from the list.
    const admin = adminFor(cluster);
    const refusedMs: number[] = [];
    try {
      for (const name of ['m0', 'm1']) {
        const asked = performance.now();
        const { acceptedAt } = await addMember(cluster, admin, name, prepared);
        refusedMs.push(Math.round(acceptedAt - asked));
      }
      const voters = (await admin.memberList()).members.filter((m) => !m.isLearner).length;
      if (voters !== 3) throw new Error(`floor: ${voters} voters after two learner adds`);
    } finally {
      admin.close();
    }
    const ms = performance.now() - t0;
    return { stopMs, aloneMs, ms, refusedMs, checker: await checker.stop() };
  } finally {
    await cluster.stop();
  }
}

interface OperatorRecovery {
  availableMs: number;
  votersMs: number;
  podsMs: number;
  /** ms from the consent to the first poll that saw each status.recovery.phase. */
  phases: Record<string, number>;
  lossToQuorumLostMs: number;
  checker: CheckerReport;
  record: unknown;
}

const condition = (c: EtcdCluster, type: string) => c.status?.conditions?.find((k) => k.type === type);

/** Deletes two members' pods and volumes (ordinals 0 and 1) and waits for QuorumLost naming the survivor. */
async function loseTwo(env: BenchEnvironment, name: string): Promise<number> {
  const lost = [`${name}-0`, `${name}-1`];
  const t0 = performance.now();
  await env.kubectl(['delete', 'pvc', ...lost.map((m) => `data-${m}`), '-n', ns, '--wait=false']);
  await env.kubectl(['delete', 'pod', ...lost, '-n', ns, '--wait=false']);
  await waitFor('QuorumLost naming the survivor', async () => {
    const c = await env.cluster(ns, name);
    return condition(c, 'Available')?.reason === 'QuorumLost' && (c.status?.quorumRecovery?.survivors?.some((s) => s.name === `${name}-2` && (s.revision ?? 0) > 0) ?? false);
  }, { timeoutMs: 120_000, intervalMs: 100 });
  return performance.now() - t0;
}

async function operatorRecovery(env: BenchEnvironment, name: string, keepTimeline: boolean, results: Results): Promise<OperatorRecovery> {
  await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3));
  await env.waitConverged(ns, name, 3);
  await waitFor('3 pods Ready', async () => (await memberPods(env, ns, name)).filter(podReady).length === 3, { timeoutMs: 60_000 });
  const uid = (await env.cluster(ns, name)).metadata.uid!;
  const checker = await writing(await podChecker(env, name, ns));
  // The revision latched while healthy, which the QuorumLost report reads losses against.
  await waitFor('status.lastRevision', async () => ((await env.cluster(ns, name)).status?.lastRevision?.revision ?? 0) > 0, { timeoutMs: 60_000, intervalMs: 250 });
  const lossToQuorumLostMs = await loseTwo(env, name);
  const mark = env.audit.mark();
  const t0 = performance.now();
  const consentAt = Date.now();
  await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { recovery: { clusterUID: uid, fromSurvivor: {} } } })]);
  const phases: Record<string, number> = {};
  let availableMs: number | undefined;
  let votersMs: number | undefined;
  let podsMs: number | undefined;
  let last: EtcdCluster | undefined;
  await waitFor(`${name}: Available and 3/3 after consent`, async () => {
    const [c, sts, pods] = await Promise.all([env.cluster(ns, name), env.apps.readNamespacedStatefulSet({ name, namespace: ns }).catch(() => undefined), memberPods(env, ns, name)]);
    const now = performance.now() - t0;
    last = c;
    const phase = c.status?.recovery?.phase;
    if (phase && phases[phase] === undefined) phases[phase] = Math.round(now);
    if (phase && condition(c, 'Available')?.status === 'True') availableMs ??= now;
    const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
    if (live.length === 3 && live.every(podReady)) podsMs ??= now;
    if (isConverged(c, sts?.spec?.replicas, 3)) votersMs ??= now;
    return availableMs !== undefined && podsMs !== undefined && votersMs !== undefined;
  }, { timeoutMs: 300_000, intervalMs: 100 });
  if (last?.status?.recovery?.phase !== 'Succeeded') throw new Error(`recovery ended in ${JSON.stringify(last?.status?.recovery)}`);
  if (keepTimeline) {
    results.details['timeline.consent'] = timeline(env.audit.since(mark), name);
    results.details['consent.events'] = await eventOffsets(env, name, consentAt);
  }
  return { availableMs: availableMs!, votersMs: votersMs!, podsMs: podsMs!, phases, lossToQuorumLostMs: Math.round(lossToQuorumLostMs), checker: await checker.stop(), record: last.status.recovery };
}

/** The cluster's events after the consent, as offsets from it: whole seconds (the API server keeps firstTimestamp to the second). */
async function eventOffsets(env: BenchEnvironment, name: string, consentAt: number): Promise<string[]> {
  const at = (e: CoreV1Event) => new Date(e.firstTimestamp ?? 0).getTime();
  return (await env.core.listNamespacedEvent({ namespace: ns })).items
    .filter((e) => e.involvedObject.kind === 'EtcdCluster' && e.involvedObject.name === name && at(e) >= consentAt - 1_000)
    .sort((a, b) => at(a) - at(b))
    .map((e) => `+${at(e) - consentAt} ms ${e.reason ?? '?'}`);
}

export async function consentBench(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  const prepared = await prepare(['m0', 'm1', 'm2']);
  const keep = ({ reads: _r, failedReads: _f, ...rest }: CheckerReport) => rest;
  const details: Record<string, unknown>[] = [];
  results.details['consent.runs'] = details;
  for (let run = 0; run < options.runs; run++) {
    const bare = await bareRecovery(prepared);
    results.add({ id: 'consent.floor.alone', section, label: 'floor: survivor restarted with --force-new-cluster -> healthy alone', unit: 'ms' }, bare.aloneMs);
    results.add({ id: 'consent.floor', section, label: 'floor: the same, then two learners added and promoted one after the other -> 3 healthy voters', unit: 'ms' }, bare.ms);
    const name = `rc-${run}`;
    const op = await operatorRecovery(env, name, run === 0, results);
    if (op.phases.Rejoining !== undefined) results.add({ id: 'consent.rejoining', section, label: 'consent -> status.recovery Rejoining (the forced run answered alone)', unit: 'ms', floor: 'consent.floor.alone' }, op.phases.Rejoining);
    results.add({ id: 'consent.available', section, label: 'consent -> Available=True', unit: 'ms', floor: 'consent.floor.alone' }, op.availableMs);
    results.add({ id: 'consent.voters', section, label: 'consent -> 3/3 healthy voters, status converged', unit: 'ms', floor: 'consent.floor' }, op.votersMs);
    results.add({ id: 'consent.pods', section, label: 'consent -> 3/3 pods Ready', unit: 'ms', floor: 'consent.floor' }, op.podsMs);
    details.push({ floor: { stopMs: Math.round(bare.stopMs), refusedMs: bare.refusedMs, checker: keep(bare.checker) }, operator: { phases: op.phases, lossToQuorumLostMs: op.lossToQuorumLostMs, record: op.record, checker: keep(op.checker) } });
    if (op.checker.lost > 0 || op.checker.staleReads > 0 || bare.checker.lost > 0) throw new Error(`lost or stale writes: ${JSON.stringify({ bare: bare.checker, operator: op.checker })}`);
    await deleteClusters(env, ns, [name]);
    console.log(`[bench] consent run ${run + 1}/${options.runs} done: Available ${Math.round(op.availableMs)} ms, 3/3 ${Math.round(op.votersMs)} ms (phases ${JSON.stringify(op.phases)}); floor alone ${Math.round(bare.aloneMs)} ms, 3 voters ${Math.round(bare.ms)} ms`);
  }
}
