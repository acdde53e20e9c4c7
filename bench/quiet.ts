// Cost of a quiet pass: what one reconcile of a converged cluster asks of the API server and of
// etcd. Passes are counted by the operator's controller_runtime_reconcile_total; API requests by
// the audit log (the operator has its own user); etcd RPCs by every member's grpc_server_handled_total.
import { setTimeout as sleep } from 'node:timers/promises';
import { ports } from '../src/resources/names.js';
import { httpGet } from '../test/harness/http.js';
import { type AuditEvent, breakdown, writeVerbs } from '../test/harness/audit.js';
import { type BenchEnvironment, etcdCluster, operatorUser } from './env.js';
import { deleteClusters, ensureNamespace, memberPods, podReady, waitQuiet } from './kube.js';
import { waitFor } from '../test/harness/wait.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const ns = 'bench';
const name = 'quiet';
const section = 'Cost of a quiet pass (per reconcile of a converged 3-member cluster)';

/** grpc_method -> calls handled, summed over the cluster's members. */
async function etcdRpcs(env: BenchEnvironment): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const pod of await memberPods(env, ns, name)) {
    const text = (await httpGet(`http://${pod.status!.podIP}:${ports.metrics}/metrics`)).body;
    for (const line of text.split('\n')) {
      const m = /^grpc_server_handled_total\{.*grpc_method="(\w+)".*\} (\S+)$/.exec(line);
      if (m) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + Number(m[2]));
    }
  }
  return counts;
}

interface Window {
  passes: number;
  requests: AuditEvent[];
  rpcs: Map<string, number>;
}

/** Runs `during` and returns what the operator did meanwhile. */
async function measure(env: BenchEnvironment, during: () => Promise<void>): Promise<Window> {
  const passes0 = await env.operator().metric('controller_runtime_reconcile_total');
  const rpcs0 = await etcdRpcs(env);
  const mark = env.audit.mark();
  await during();
  const requests = env.audit.since(mark).filter((e) => e.user.username === operatorUser);
  const rpcs1 = await etcdRpcs(env);
  const passes = (await env.operator().metric('controller_runtime_reconcile_total')) - passes0;
  const rpcs = new Map([...rpcs1].map(([k, v]) => [k, v - (rpcs0.get(k) ?? 0)] as const).filter(([, v]) => v > 0));
  return { passes, requests, rpcs };
}

function split(w: Window): { reads: number; writes: number; watches: number; rpcs: number } {
  const writes = w.requests.filter((e) => writeVerbs.has(e.verb)).length;
  const watches = w.requests.filter((e) => e.verb === 'watch').length;
  return { reads: w.requests.length - writes - watches, writes, watches, rpcs: [...w.rpcs.values()].reduce((a, b) => a + b, 0) };
}

const perPass = (n: number, passes: number) => (passes > 0 ? n / passes : 0);

export async function quietPass(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3));
  await env.waitConverged(ns, name, 3);
  // The status converges on etcd's health, seconds before the pods' readiness probes pass; each
  // pod turning Ready then moves the Pod, the PDB and the StatefulSet, and each such event queues
  // a pass. Wait for that tail to end, or the windows below count its passes.
  await waitFor('every member pod Ready', async () => {
    const pods = await memberPods(env, ns, name);
    return pods.length === 3 && pods.every(podReady);
  }, { timeoutMs: 60_000, intervalMs: 250 });
  await waitQuiet(env, 3_000);
  // Background: nothing pokes the cluster. Shows the agent's probes make no gRPC calls, and that
  // an idle operator makes no requests between its 30 s passes.
  const background = await measure(env, () => sleep(10_000));
  results.details['quiet.background10s'] = { ...split(background), passes: background.passes, requests: breakdown(background.requests), rpcs: Object.fromEntries(background.rpcs) };
  const pokes = options.quick ? 5 : 10;
  const byVerb: Record<string, number> = {};
  const byMethod: Record<string, number> = {};
  let totalPasses = 0;
  for (let run = 0; run < options.runs; run++) {
    // An annotation is a change with nothing to do: the watch event queues a pass, the same pass
    // the 30 s requeue runs, and no spec or status moves.
    const w = await measure(env, async () => {
      for (let i = 0; i < pokes; i++) {
        await env.kubectl(['annotate', 'etcdcluster', name, '-n', ns, '--overwrite', `bench/poke=${run}-${i}`]);
        await sleep(1_000);
      }
      await sleep(1_500);
    });
    const s = split(w);
    const add = (id: string, label: string, unit: 'requests' | 'RPCs', n: number) => results.add({ id, section, label, unit }, perPass(n, w.passes));
    add('quiet.reads', 'API reads (get/list) per pass', 'requests', s.reads);
    add('quiet.writes', 'API writes per pass', 'requests', s.writes);
    add('quiet.watches', 'API watch requests per pass', 'requests', s.watches);
    add('quiet.rpcs', 'etcd RPCs per pass (all members)', 'RPCs', s.rpcs);
    totalPasses += w.passes;
    for (const [k, v] of Object.entries(breakdown(w.requests))) byVerb[k] = (byVerb[k] ?? 0) + v;
    for (const [k, v] of w.rpcs) byMethod[k] = (byMethod[k] ?? 0) + v;
  }
  results.details['quiet.passes'] = totalPasses;
  results.details['quiet.apiRequestsByVerb'] = byVerb;
  results.details['quiet.etcdRpcsByMethod'] = byMethod;
  await deleteClusters(env, ns, [name]);
}
