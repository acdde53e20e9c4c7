// Many clusters under one operator (issue 19, items 3 and 4), on the compiled build (dist/main.js).
// 1. The fleet: N one-member clusters and N/10 three-member clusters created at once -> all
//    Available; then RSS, quiet CPU, and event -> first write while 1 % of the clusters change
//    every second.
// 2. How cost grows: the fleet shrinks to each count of the table (largest first, so the etcd
//    processes start once), and at each count a fresh operator process takes the clusters over:
//    its RSS, its CPU per quiet pass and its API requests per minute, over a 60 s window that holds
//    two 30 s requeues of every cluster. A fresh process per count, so no figure is the high-water
//    mark of a larger fleet.
import { freemem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EtcdCluster } from '../src/api/types.generated.js';
import { waitFor } from '../test/harness/wait.js';
import { shippedEnv } from '../test/harness/operator.js';
import { type AuditEvent, breakdown, micros, writeVerbs } from '../test/harness/audit.js';
import { type BenchEnvironment, group, isConverged, operatorUser, startBenchEnvironment } from './env.js';
import { deleteClusters, ensureNamespace, waitQuiet } from './kube.js';
import { cpuSeconds, rssMiB } from './proc.js';
import type { Results } from './results.js';
import { loadAverage } from './machine.js';
import { percentile } from './stats.js';
import { watchStream } from '../src/runtime/kube-http.js';
import { type ChurnBreakdown, churnBreakdown } from './churn-breakdown.js';

const ns = 'many';
const section = 'Many clusters under one operator (compiled build)';
const costSection = 'How cost grows with the clusters managed (fresh operator per count)';
/** What one small member takes, with margin (etcd 3.6 idles at about 40 MiB). */
const memberMiB = 60;
const windowMs = 60_000;
/** Extra operator flags for every operator of the section, e.g. `BENCH_MANY_OPERATOR_ARGS=--workers=8`. */
const operatorArgs = (process.env.BENCH_MANY_OPERATOR_ARGS ?? '').split(' ').filter((a) => a !== '');
/** Flags for node itself, e.g. `BENCH_MANY_NODE_ARGS=--cpu-prof` (the shipped image passes none but its ENTRYPOINT's). */
const nodeArgs = (process.env.BENCH_MANY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
/**
 * Environment over the image's ENV for the section's operators, e.g.
 * `BENCH_MANY_OPERATOR_ENV="MALLOC_ARENA_MAX= MALLOC_TRIM_THRESHOLD_=131072"` (empty: unset); several
 * separated by `|` take turns, operator by operator (the fleet's first), to compare them on one fleet.
 */
const operatorEnvs = (process.env.BENCH_MANY_OPERATOR_ENV ?? '').split('|').map((one) => Object.fromEntries(one.split(' ').filter((a) => a.includes('=')).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])));
let operatorsStarted = 0;
/** The next operator's launch, and its environment over the image's. */
function nextLaunch() {
  const env = operatorEnvs[operatorsStarted++ % operatorEnvs.length]!;
  return { entry: 'dist' as const, nodeArgs, env };
}

export interface ManyOptions {
  /** Counts of one-member clusters for the cost table; the largest is the fleet's. */
  counts: number[];
  /** Seconds of churn (1 % of the clusters changed every second). */
  churnSeconds: number;
}

const oneName = (i: number) => `s${i}`;
const threeName = (i: number) => `t${i}`;

function manifest(name: string, replicas: number): object {
  return { apiVersion: `${group.group}/${group.version}`, kind: 'EtcdCluster', metadata: { name, namespace: ns }, spec: { replicas, storage: { type: 'EmptyDir', size: '64Mi' } } };
}

/** Creates the clusters through the API, 20 requests in flight (kubectl apply sends them one by one). */
async function createAll(env: BenchEnvironment, items: object[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await env.custom.createNamespacedCustomObject({ ...group, namespace: ns, body: items[next++]! });
  };
  await Promise.all(Array.from({ length: 20 }, worker));
}

/** How many clusters are converged (status, StatefulSet and etcd agree, Available). */
async function convergedCount(env: BenchEnvironment): Promise<{ total: number; converged: number }> {
  const [clusters, sets] = await Promise.all([env.custom.listNamespacedCustomObject({ ...group, namespace: ns }) as Promise<{ items: EtcdCluster[] }>, env.apps.listNamespacedStatefulSet({ namespace: ns })]);
  const replicas = new Map(sets.items.map((s) => [s.metadata!.name!, s.spec?.replicas]));
  const live = clusters.items.filter((c) => !c.metadata.deletionTimestamp);
  return { total: live.length, converged: live.filter((c) => isConverged(c, replicas.get(c.metadata.name!), c.spec.replicas ?? 1)).length };
}

async function waitAllAvailable(env: BenchEnvironment, count: number, timeoutMs: number, progress?: (converged: number, ms: number) => void): Promise<void> {
  const t0 = performance.now();
  let last = -1;
  await waitFor(`${count} clusters Available`, async () => {
    const { total, converged } = await convergedCount(env);
    if (converged !== last) progress?.(converged, performance.now() - t0);
    last = converged;
    return total === count && converged === count;
  }, { timeoutMs, intervalMs: 1_000 });
}

interface Window {
  rssMiB: number;
  heapUsedMiB: number;
  /** Where the RSS goes: the V8 heap reserved, and memory outside it (Buffers, TLS, gRPC). */
  heapTotalMiB: number;
  externalMiB: number;
  cpuPercent: number;
  passes: number;
  cpuMsPerPass: number;
  requestsPerMinute: number;
  requests: Record<string, number>;
}

/** The operator's cost over `ms` of quiet: CPU, passes, API requests (audit log), then its RSS. */
async function quietWindow(env: BenchEnvironment, ms: number): Promise<Window> {
  const op = env.operator();
  const pid = op.process.pid;
  const passes0 = await op.metric('controller_runtime_reconcile_total', { controller: 'etcdcluster' });
  const mark = env.audit.mark();
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(ms);
  const cpu = cpuSeconds(pid) - cpu0;
  const elapsed = (performance.now() - t0) / 1000;
  const passes = (await op.metric('controller_runtime_reconcile_total', { controller: 'etcdcluster' })) - passes0;
  const requests = env.audit.since(mark).filter((e) => e.user.username === operatorUser);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    rssMiB: rssMiB(pid),
    heapUsedMiB: round((await op.metric('nodejs_heap_size_used_bytes')) / 1024 / 1024),
    heapTotalMiB: round((await op.metric('nodejs_heap_size_total_bytes')) / 1024 / 1024),
    externalMiB: round((await op.metric('nodejs_external_memory_bytes')) / 1024 / 1024),
    cpuPercent: round((cpu / elapsed) * 100),
    passes,
    cpuMsPerPass: passes > 0 ? round((cpu * 1000) / passes) : 0,
    requestsPerMinute: round((requests.length * 60) / elapsed),
    requests: breakdown(requests),
  };
}

/**
 * The operator's first write for `cluster` after the bench's change to it, both on the API
 * server's clock: a write to the EtcdCluster (its status) or to one of its children.
 */
function firstWriteFor(events: AuditEvent[], change: AuditEvent): number | undefined {
  const name = change.objectRef?.name ?? '';
  const committed = micros(change.stageTimestamp);
  const write = events.find((e) => {
    const r = e.objectRef;
    const mine = r?.namespace === ns && (r.name === name || (r.name ?? '').startsWith(`${name}-`));
    return e.user.username === operatorUser && writeVerbs.has(e.verb) && mine && micros(e.requestReceivedTimestamp) >= committed;
  });
  return write ? (micros(write.requestReceivedTimestamp) - committed) / 1000 : undefined;
}

/**
 * 1 % of the clusters (at least one) change every second: spec.tls.renewBefore flips between
 * 720h and 721h, a spec change (new generation) whose only effect is the status write that
 * records observedGeneration. Returns the event -> first write latencies.
 */
async function churn(env: BenchEnvironment, names: string[], seconds: number): Promise<{ latencies: number[]; changes: number; missed: number; breakdown: ChurnBreakdown & { operatorEventLoopLagMs: { max: number; p99: number }; operatorMajorGc: { count: number; totalMs: number; over10ms: number; over100ms: number } } }> {
  const perSecond = Math.max(1, Math.round(names.length / 100));
  // The API server's part of the delivery: when a watcher of our own (not the operator) sees each change.
  const seen: { name: string; at: number }[] = [];
  const stopWatch = new AbortController();
  const watching = watchStream(env.cp.kubeConfig(), `/apis/${group.group}/${group.version}/namespaces/${ns}/${group.plural}?watch=1`, (e) => {
    seen.push({ name: (e.object as { metadata?: { name?: string } }).metadata?.name ?? '', at: Date.now() });
  }, stopWatch.signal).catch(() => undefined);
  // The operator's event loop delay over the churn: its histogram restarts at every scrape.
  await env.operator().metric('nodejs_eventloop_lag_max_seconds');
  const gcBefore = await majorCollections(env);
  const mark = env.audit.mark();
  let n = 0;
  for (let s = 0; s < seconds; s++) {
    const tick = sleep(1_000);
    await Promise.all(Array.from({ length: perSecond }, () => {
      const i = n++;
      const name = names[(i * 7919) % names.length]!;
      const renewBefore = Math.floor(i / names.length) % 2 === 0 ? '721h' : '720h';
      return env.custom.patchNamespacedCustomObject({ ...group, namespace: ns, name, body: [{ op: 'add', path: '/spec/tls/renewBefore', value: renewBefore }] });
    }));
    await tick;
  }
  await sleep(5_000);
  const lagMaxMs = Math.round((await env.operator().metric('nodejs_eventloop_lag_max_seconds')) * 1000);
  const lagP99Ms = Math.round((await env.operator().metric('nodejs_eventloop_lag_p99_seconds')) * 1000);
  const gcAfter = await majorCollections(env);
  const majorGc = { count: gcAfter.count - gcBefore.count, totalMs: Math.round(gcAfter.totalMs - gcBefore.totalMs), over10ms: gcAfter.over10ms - gcBefore.over10ms, over100ms: gcAfter.over100ms - gcBefore.over100ms };
  stopWatch.abort();
  await watching;
  const events = env.audit.since(mark);
  const changes = events.filter((e) => e.user.username !== operatorUser && e.verb === 'patch' && e.objectRef?.resource === 'etcdclusters' && !e.objectRef.subresource);
  const timed = changes.map((c) => ({ change: c, latencyMs: firstWriteFor(events, c) }));
  const latencies = timed.map((t) => t.latencyMs).filter((x): x is number => x !== undefined);
  const breakdown = churnBreakdown(
    env.operator().process.logPath,
    timed.flatMap((t) => {
      if (t.latencyMs === undefined) return [];
      const name = t.change.objectRef?.name ?? '';
      const committedMs = micros(t.change.stageTimestamp) / 1000;
      const benchSawMs = seen.find((s) => s.name === name && s.at >= Math.floor(committedMs))?.at;
      return [{ key: `${ns}/${name}`, committedMs, latencyMs: t.latencyMs, ...(benchSawMs !== undefined ? { benchSawMs } : {}) }];
    }),
  );
  return { latencies, changes: changes.length, missed: changes.length - latencies.length, breakdown: { ...breakdown, operatorEventLoopLagMs: { max: lagMaxMs, p99: lagP99Ms }, operatorMajorGc: majorGc } };
}

/**
 * The operator's full collections so far, from prom-client's histogram of GC pauses (each the
 * main thread held; an incremental collection's steps between are not in it): an event that
 * arrives during one waits for it.
 */
async function majorCollections(env: BenchEnvironment): Promise<{ count: number; totalMs: number; over10ms: number; over100ms: number }> {
  const op = env.operator();
  const count = await op.metric('nodejs_gc_duration_seconds_count', { kind: 'major' });
  const bucket = (le: string) => op.metric('nodejs_gc_duration_seconds_bucket', { kind: 'major', le });
  return { count, totalMs: (await op.metric('nodejs_gc_duration_seconds_sum', { kind: 'major' })) * 1000, over10ms: count - (await bucket('0.01')), over100ms: count - (await bucket('0.1')) };
}

async function restartOperator(env: BenchEnvironment, clusters: number): Promise<number> {
  await env.stopOperator();
  const t0 = performance.now();
  const launch = nextLaunch();
  console.log(`[bench] many: fresh operator at ${clusters} clusters, environment ${JSON.stringify({ ...shippedEnv(), ...launch.env })}`);
  await env.startOperator(operatorArgs, launch);
  // Every cluster is queued when the caches sync; wait for its first pass, then for writes to stop.
  await waitFor(`first pass of ${clusters} clusters`, async () => (await env.operator().metric('controller_runtime_reconcile_total', { controller: 'etcdcluster' })) >= clusters, { timeoutMs: 300_000, intervalMs: 500 });
  const ms = performance.now() - t0;
  await settle(env, undefined, `after a restart at ${clusters} clusters`);
  return ms;
}

/** Waits until the operator has written nothing for 5 s; a fleet still converging is noted, not fatal. */
async function settle(env: BenchEnvironment, results: Results | undefined, when: string): Promise<void> {
  await waitQuiet(env, 5_000, 300_000).catch((err: unknown) => {
    results?.failed(`many: quiet ${when}`, err);
    console.log(`[bench] many: still writing ${when}; measuring anyway`);
  });
}

function record(results: Results, count: number, w: Window): void {
  const label = (what: string) => `${what}, ${count} cluster${count === 1 ? '' : 's'}`;
  results.add({ id: `many.cost.rss.${count}`, section: costSection, label: label('operator RSS'), unit: 'MiB' }, w.rssMiB);
  results.add({ id: `many.cost.cpu.${count}`, section: costSection, label: label('operator CPU, quiet'), unit: '% of a core' }, w.cpuPercent);
  results.add({ id: `many.cost.cpuPerPass.${count}`, section: costSection, label: label('operator CPU per quiet pass'), unit: 'ms' }, w.cpuMsPerPass);
  results.add({ id: `many.cost.apiPerMinute.${count}`, section: costSection, label: label('API requests per minute, quiet'), unit: 'requests' }, w.requestsPerMinute);
}

export async function manyClusters(results: Results, options: ManyOptions): Promise<void> {
  const counts = [...options.counts].sort((a, b) => b - a);
  const top = counts[0]!;
  const threes = Math.round(top / 10);
  const needMiB = (top + 3 * threes) * memberMiB;
  const freeMiB = freemem() / 1024 / 1024;
  if (needMiB > freeMiB) throw new Error(`${top + 3 * threes} members need about ${needMiB} MiB, ${Math.round(freeMiB)} MiB free`);
  const env = await startBenchEnvironment('bench-many');
  try {
    // Debug logs for the churn's breakdown (an 'event' line per watch event and a 'pass finished'
    // line per pass: a few lines a second when quiet); the cost table's operators log at info.
    const launch = nextLaunch();
    await env.startOperator(['--log-level=debug', ...operatorArgs], launch);
    await ensureNamespace(env, ns);
    await sleep(5_000);
    const idle = await quietWindow(env, 20_000);
    results.details['many.idle'] = idle;

    const ones = Array.from({ length: top }, (_, i) => oneName(i));
    const items = [...ones.map((n) => manifest(n, 1)), ...Array.from({ length: threes }, (_, i) => manifest(threeName(i), 3))];
    const clusters = items.length;
    const loadBefore = loadAverage();
    const t0 = performance.now();
    await createAll(env, items);
    const createdMs = performance.now() - t0;
    const progress: string[] = [];
    let seen = 0;
    const available = await waitAllAvailable(env, clusters, 900_000, (c, ms) => {
      // One line per tenth of the fleet crossed.
      if (progress.length === 0 || Math.floor((c * 10) / clusters) > Math.floor((seen * 10) / clusters)) progress.push(`${Math.round(ms / 1000)} s: ${c}/${clusters}`);
      seen = c;
    }).then(() => true, (err: unknown) => {
      // The rest still measures what runs; the figure is missing and the error says how far it got.
      results.failed('many: all Available', new Error(`${seen}/${clusters} Available after 15 min: ${String(err)}`));
      return false;
    });
    const fleet = `${top} one-member + ${threes} three-member clusters`;
    if (available) results.add({ id: 'many.ready', section, label: `${fleet} created at once -> all Available (target <= 3 min)`, unit: 'ms' }, performance.now() - t0);
    results.details['many.fleet'] = { operatorArgs, operatorEnv: { ...shippedEnv(), ...launch.env }, clusters, members: top + 3 * threes, createRequestsMs: Math.round(createdMs), loadBefore, loadAfter: loadAverage(), progress, operatorCpuSeconds: cpuSeconds(env.operator().process.pid) };
    console.log(`[bench] many: ${clusters} clusters Available (load ${loadAverage().join(' ')})`);

    await settle(env, results, 'after the fleet');
    const quiet = await quietWindow(env, windowMs);
    results.details['many.quiet'] = quiet;
    results.add({ id: 'many.rss', section, label: `operator RSS, ${fleet} (target <= 250 MiB)`, unit: 'MiB' }, quiet.rssMiB);
    results.add({ id: 'many.cpu', section, label: `operator CPU when quiet, ${fleet} (target <= 5 %)`, unit: '% of a core' }, quiet.cpuPercent);

    const c = await churn(env, [...ones, ...Array.from({ length: threes }, (_, i) => threeName(i))], options.churnSeconds);
    const sorted = [...c.latencies].sort((a, b) => a - b);
    results.details['many.churn'] = { changes: c.changes, missed: c.missed, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1), load: loadAverage(), breakdown: c.breakdown };
    console.log(`[bench] many: churn ${JSON.stringify(results.details['many.churn'])}`);
    const p99 = { id: 'many.eventToWrite.p99', section, label: `event -> first write, p99 of each churn run, 1 % of ${clusters} clusters changed per second (target <= 100 ms)`, unit: 'ms' as const };
    results.add(p99, percentile(sorted, 99));
    for (const ms of c.latencies) results.add({ id: 'many.eventToWrite', section, label: 'event -> first write, every change', unit: 'ms' }, ms);
    results.details['many.rssAfterChurn'] = rssMiB(env.operator().process.pid);

    // How cost grows: the fleet shrinks, a fresh operator takes over at each count.
    let live = [...ones];
    await deleteClusters(env, ns, Array.from({ length: threes }, (_, i) => threeName(i)));
    for (const count of counts) {
      await deleteClusters(env, ns, live.slice(count));
      live = live.slice(0, count);
      const takeoverMs = await restartOperator(env, count).catch((err: unknown) => {
        results.failed(`many: restart at ${count}`, err);
        return NaN;
      });
      const w = await quietWindow(env, windowMs);
      results.details[`many.cost.${count}`] = { ...w, takeoverMs: Math.round(takeoverMs), load: loadAverage() };
      record(results, count, w);
      console.log(`[bench] many: cost at ${count} clusters: ${JSON.stringify({ rss: w.rssMiB, heapUsed: w.heapUsedMiB, heapTotal: w.heapTotalMiB, external: w.externalMiB, cpu: w.cpuPercent, passes: w.passes, perMinute: w.requestsPerMinute })}`);
    }
  } finally {
    await env.stop();
  }
}
