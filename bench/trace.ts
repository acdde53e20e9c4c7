// Where the time goes after a member's SIGKILL, an apply, a scale or an upgrade: one timeline
// per round from the agent's log (container exit/start, probe results), a 20 ms poll of
// the member's /livez and /readyz, the audit log (pod status reports, operator writes) and the
// operator's debug log (events that queued passes, health transitions).
// Run: npx tsx bench/trace.ts [rounds] [kill|scale|apply|upgrade] [ready|stable (upgrade checker endpoints)]   (prints the timelines)
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import winston from 'winston';
import { ports } from '../src/resources/names.js';
import { httpGet } from '../test/harness/http.js';
import { micros, writeVerbs } from '../test/harness/audit.js';
import { waitFor } from '../test/harness/wait.js';
import { etcdCluster, operatorUser, startBenchEnvironment } from './env.js';
import { deleteClusters, ensureNamespace, memberPods, podReady, waitQuiet } from './kube.js';
import { loadAverage } from './machine.js';
import { etcdPid } from './recovery.js';
import { podChecker, running } from './upgrade.js';

const ns = 'trace';
const name = 'tk';
const kills = Number(process.argv[2] ?? 3);
const mode = process.argv[3] ?? 'kill';
const checkerMembers = process.argv[4] === 'stable' ? 'stable' : 'ready';

interface Line { t: number; who: string; what: string }
const agentLines: Line[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const raw of chunk.toString().split('\n')) {
      if (!raw.startsWith('{')) continue;
      const e = JSON.parse(raw) as Record<string, unknown>;
      if (!['container started', 'container exited', 'probe result', 'sandbox ready'].includes(String(e.message))) continue;
      const rest = Object.fromEntries(Object.entries(e).filter(([k]) => !['message', 'timestamp', 'level', 'component', 'node', 'uid'].includes(k)));
      agentLines.push({ t: Date.parse(String(e.timestamp)), who: 'agent', what: `${String(e.message)} ${JSON.stringify(rest)}` });
    }
    done();
  },
});
const agentLog = winston.createLogger({ level: 'debug', format: winston.format.combine(winston.format.timestamp(), winston.format.json()), transports: [new winston.transports.Stream({ stream: sink })] });

/** The audit log's writes, the operator's log and the agent's lines since t0, sorted, printed. */
function print(title: string, t0: number, mark: number, lines: Line[]): void {
  for (const e of env.audit.since(mark)) {
    if (!writeVerbs.has(e.verb)) continue;
    const r = e.objectRef;
    const who = e.user.username === operatorUser ? 'operator' : 'agent';
    if (who === 'agent' && r?.subresource !== 'status') continue;
    lines.push({ t: micros(e.requestReceivedTimestamp) / 1000, who: `${who}(api)`, what: `${e.verb} ${r?.resource}${r?.subresource ? `/${r.subresource}` : ''} ${r?.name ?? ''}` });
  }
  for (const raw of readFileSync(env.operator().process.logPath, 'utf8').split('\n')) {
    if (!raw.startsWith('{')) continue;
    const e = JSON.parse(raw) as Record<string, unknown>;
    const t = Date.parse(String(e.timestamp));
    if (!(t >= t0) || (e.message === 'event' && ['Lease', 'Event'].includes(String(e.kind)))) continue;
    const detail = e.message === 'event' ? `${String(e.kind)} ${String(e.change)} ${String(e.object)}` : JSON.stringify(e.step ?? e.member ?? '');
    lines.push({ t, who: 'operator', what: `${String(e.message)} ${detail}` });
  }
  for (const l of agentLines) if (l.t >= t0) lines.push(l);
  agentLines.length = 0;
  lines.sort((a, b) => a.t - b.t);
  console.log(`\n=== ${title} (load ${loadAverage().join(' ')})`);
  for (const l of lines) console.log(`${String(Math.round(l.t - t0)).padStart(6)} ms  ${l.who.padEnd(13)} ${l.what}`);
}

function firsts(lines: Line[]) {
  return (what: string, t = Date.now()) => {
    if (!lines.some((l) => l.what === what)) lines.push({ t, who: 'poll', what });
  };
}

async function kill(k: number): Promise<void> {
  const ordinal = k % 3;
  await waitFor('3 pods Ready', async () => (await memberPods(env, ns, name)).filter(podReady).length === 3, { timeoutMs: 60_000 });
  await waitQuiet(env, 2_000);
  const pod = (await memberPods(env, ns, name)).find((p) => p.metadata?.name === `${name}-${ordinal}`)!;
  const ip = pod.status!.podIP!;
  const restarts = pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
  const mark = env.audit.mark();
  const lines: Line[] = [];
  const first = firsts(lines);
  const t0 = Date.now();
  process.kill(etcdPid(pod), 'SIGKILL');
  await waitFor('back', async () => {
    const now = Date.now();
    const [live, ready] = await Promise.all(['livez', 'readyz'].map((p) => httpGet(`http://${ip}:${ports.metrics}/${p}`, {}, 500).then((r) => r.status, () => 0)));
    if (live === 200) first('etcd /livez 200', now);
    if (ready === 200) first('etcd /readyz 200', now);
    const list = await memberPods(env, ns, name);
    const p = list.find((x) => x.metadata?.name === pod.metadata?.name);
    const restarted = (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) > restarts;
    if (restarted && list.every(podReady)) first('3/3 pods Ready (API)');
    if (restarted && (await env.converged(ns, name, 3))) first('status converged (API)');
    return lines.some((l) => l.what === 'status converged (API)') && lines.some((l) => l.what === '3/3 pods Ready (API)');
  }, { timeoutMs: 120_000, intervalMs: 20 });
  print(`kill ${k + 1}: ${name}-${ordinal}`, t0, mark, lines);
}

/** Watches pods Ready and convergence at `size` from t0. */
async function until(size: number, lines: Line[]): Promise<void> {
  const first = firsts(lines);
  await waitFor('converged', async () => {
    const list = (await memberPods(env, ns, name)).filter((p) => !p.metadata?.deletionTimestamp);
    if (list.length === size && list.every(podReady)) first(`${size}/${size} pods Ready (API)`);
    if (await env.converged(ns, name, size)) first('status converged (API)');
    return lines.length >= 2;
  }, { timeoutMs: 120_000, intervalMs: 20 });
}

async function upgrade(k: number): Promise<void> {
  const cluster = `${name}-u${k}`;
  await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, cluster, 3, { version: '3.5.35' }));
  await env.waitConverged(ns, cluster, 3);
  await waitFor('3 pods Ready', async () => (await memberPods(env, ns, cluster)).filter(podReady).length === 3, { timeoutMs: 60_000 });
  const lines: Line[] = [];
  const checker = await running(await podChecker(env, cluster, ns, { members: checkerMembers, trace: (what) => lines.push({ t: Date.now(), who: 'checker', what }) }));
  await waitQuiet(env, 2_000);
  const mark = env.audit.mark();
  const t0 = Date.now();
  await env.kubectl(['patch', 'etcdcluster', cluster, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: '3.6.16' } })]);
  await waitFor('upgraded', async () => (await env.converged(ns, cluster, 3)) && (await env.cluster(ns, cluster)).status!.members!.every((m) => m.version === '3.6.16'), { timeoutMs: 300_000, intervalMs: 100 });
  lines.push({ t: Date.now(), who: 'poll', what: 'converged on 3.6.16' });
  const report = await checker.stop();
  print(`upgrade ${k + 1}: ${JSON.stringify(report)}`, t0, mark, lines);
  await deleteClusters(env, ns, [cluster]);
}

async function scale(k: number): Promise<void> {
  for (const [from, to] of [[3, 5], [5, 3]] as const) {
    await waitQuiet(env, 2_000);
    const mark = env.audit.mark();
    const lines: Line[] = [];
    const t0 = Date.now();
    await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: to } })]);
    await until(to, lines);
    print(`scale ${k + 1}: ${from} -> ${to}`, t0, mark, lines);
  }
}

const env = await startBenchEnvironment('trace', { agentLog });
try {
  await env.startOperator(['--log-level=debug']);
  await ensureNamespace(env, ns);
  if (mode === 'upgrade') {
    for (let k = 0; k < kills; k++) await upgrade(k);
  } else if (mode === 'apply') {
    for (let k = 0; k < kills; k++) {
      const mark = env.audit.mark();
      const lines: Line[] = [];
      const t0 = Date.now();
      await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3));
      await until(3, lines);
      print(`apply ${k + 1}`, t0, mark, lines);
      await deleteClusters(env, ns, [name]);
    }
  } else {
    await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3, { storage: { retentionPolicy: 'Delete' } }));
    await env.waitConverged(ns, name, 3);
    for (let k = 0; k < kills; k++) await (mode === 'scale' ? scale(k) : kill(k));
  }
} finally {
  await env.stop();
}
