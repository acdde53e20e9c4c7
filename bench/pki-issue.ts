// How long the operator takes to issue a full certificate set (CA + server, peer, operator and
// user client certificates) through the same plan and act step a reconcile runs, and how long
// the event loop stalls meanwhile. Run: npx tsx bench/pki-issue.ts [runs]   (prints JSON)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { executeCertificatePlan } from '../src/pki/issue.js';
import { type PkiInputs, planCertificates } from '../src/pki/plan.js';
import { median, percentile } from './stats.js';

const day = 24 * 3600_000;
const inputs: PkiInputs = { cluster: { name: 'time', namespace: 'test', clusterDomain: 'cluster.local' }, ownerUid: 'u', policy: { validityMs: 90 * day, renewBeforeMs: 30 * day }, trustInUse: false };
const owner = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', name: 'time', uid: 'u', controller: true };

const runs = Number(process.argv[2] ?? 10);
const times: number[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
for (let i = 0; i < runs; i++) {
  const now = new Date();
  const start = performance.now();
  const secrets = await executeCertificatePlan(planCertificates({ leaves: {} }, inputs, now), { leaves: {} }, inputs, owner, now);
  times.push(performance.now() - start);
  if (secrets.length !== 5) throw new Error(`expected 5 Secrets, got ${secrets.length}`);
}
loop.disable();
const round = (ms: number) => Math.round(ms);
console.log(JSON.stringify({
  keyType: 'RSA-2048',
  runs,
  medianMs: round(median(times)),
  p90Ms: round(percentile(times, 90)),
  minMs: round(Math.min(...times)),
  maxMs: round(Math.max(...times)),
  eventLoopMaxDelayMs: round(loop.max / 1e6),
  loadAverage: (await import('node:os')).loadavg().map((l) => l.toFixed(2)),
}, null, 2));
