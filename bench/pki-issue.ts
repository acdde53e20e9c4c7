// How long the operator takes to issue a full certificate set (CA + server, peer, operator and
// user client certificates) through the same plan and act step a reconcile runs, and how long
// the event loop stalls meanwhile, with no key pool (every key generated on demand) and with the
// operator's pool of 10 ready keys (refilled between runs, as between two cluster applies), and
// the CPU time one set costs.
// Run: npx tsx bench/pki-issue.ts [runs]   (prints JSON)
import { createPrivateKey } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { executeCertificatePlan } from '../src/pki/issue.js';
import { type PkiInputs, planCertificates } from '../src/pki/plan.js';
import { keyPool } from '../src/pki/x509.js';
import { median, percentile } from './stats.js';

const day = 24 * 3600_000;
const inputs: PkiInputs = { cluster: { name: 'time', namespace: 'test', clusterDomain: 'cluster.local' }, ownerUid: 'u', policy: { validityMs: 90 * day, renewBeforeMs: 30 * day }, trustInUse: false };
const owner = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', name: 'time', uid: 'u', controller: true };

const runs = Number(process.argv[2] ?? 10);
let keyType = '';
const keyTypeOf = (b64: string) => {
  const key = createPrivateKey(Buffer.from(b64, 'base64').toString());
  return key.asymmetricKeyType === 'ec' ? `ECDSA ${key.asymmetricKeyDetails?.namedCurve}` : `${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.modulusLength}`;
};
const round = (ms: number) => Math.round(ms);

async function measure(pooled: boolean) {
  const times: number[] = [];
  // CPU of the whole process (OpenSSL's key generation runs in libuv's threads, counted too).
  const cpu: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  if (pooled) keyPool.start({ size: 10, refillDelayMs: 0 });
  for (let i = 0; i < runs; i++) {
    // Not timed: the pool refilling, as it does between two applies.
    if (pooled) while (keyPool.available < 10) await sleep(10);
    loop.enable();
    const now = new Date();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const secrets = await executeCertificatePlan(planCertificates({ leaves: {} }, inputs, now), { leaves: {} }, inputs, owner, now);
    times.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
    loop.disable();
    if (secrets.length !== 5) throw new Error(`expected 5 Secrets, got ${secrets.length}`);
    keyType = keyTypeOf(secrets[0]!.data!['tls.key']!);
  }
  keyPool.stop();
  return { medianMs: round(median(times)), p90Ms: round(percentile(times, 90)), minMs: round(Math.min(...times)), maxMs: round(Math.max(...times)), cpuMedianMs: round(median(cpu)), eventLoopMaxDelayMs: round(loop.max / 1e6) };
}

const onDemand = await measure(false);
const pooled = await measure(true);
console.log(JSON.stringify({ keyType, runs, onDemand, pooled, loadAverage: (await import('node:os')).loadavg().map((l) => l.toFixed(2)) }, null, 2));
