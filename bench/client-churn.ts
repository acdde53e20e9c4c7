// The operator's take-over in one process, apart from everything else: 2 workers, each pass dials
// a cluster's etcd client (one real TLS member), calls Status and MemberList, closes it; N passes
// a round, no collection forced between rounds unless `gc` is given (then a full one after each
// round, as src/etcd/native-garbage.ts asks for). RSS after each round shows how much native
// memory the closed clients hold until V8 collects them.
// hack/node.sh node --max-semi-space-size=4 [--expose-gc] --import tsx bench/client-churn.ts [N] [rounds] [gc]
import { readFileSync } from 'node:fs';
import { type PerformanceEntry, PerformanceObserver, constants } from 'node:perf_hooks';
import { createEtcdAdmin } from '../src/etcd/client.js';
import { startEtcdCluster } from '../test/harness/etcd-cluster.js';

const n = Number(process.argv[2] ?? 220);
const rounds = Number(process.argv[3] ?? 3);
const collect = process.argv[4] === 'gc' ? (globalThis as { gc?: () => void }).gc : undefined;
const MiB = 1024 * 1024;
const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024);
const memory = (label: string) => {
  const m = process.memoryUsage();
  console.log(`${label}: rss ${rss()} MiB, heapTotal ${Math.round(m.heapTotal / MiB)}, external ${Math.round(m.external / MiB)}`);
};

// Each full collection's pause (the main thread held), V8's own apart from those asked for with gc().
const majors: { forced: boolean; ms: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const detail = (e as PerformanceEntry & { detail: { kind: number; flags: number } }).detail;
    if (detail.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
    majors.push({ forced: (detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0, ms: e.duration });
  }
}).observe({ entryTypes: ['gc'] });
const pauses = () => {
  const line = (forced: boolean) => {
    const ms = majors.filter((m) => m.forced === forced).map((m) => Math.round(m.ms));
    return `${ms.length} (${ms.join(', ')} ms)`;
  };
  const text = `full collections: V8's own ${line(false)}, asked for ${line(true)}`;
  majors.length = 0;
  return text;
};

const cluster = await startEtcdCluster({ size: 1, label: 'client-churn' });
try {
  const endpoint = cluster.endpoints()[0]!;
  const tls = { caPem: cluster.pki.trustedCaPem, certPem: cluster.pki.client.certPem, keyPem: cluster.pki.client.keyPem };
  const pass = async () => {
    const admin = createEtcdAdmin({ endpoints: [endpoint], serverNames: { [endpoint]: 'localhost' }, tls, callTimeoutMs: 5_000 });
    try {
      await admin.status(endpoint);
      await admin.memberList();
    } finally {
      admin.close();
    }
  };
  memory('start');
  for (let r = 0; r < rounds; r++) {
    let next = 0;
    await Promise.all([0, 1].map(async () => {
      while (next < n) {
        next++;
        await pass();
      }
    }));
    collect?.();
    memory(`round ${r + 1}, ${(r + 1) * n} dials${collect ? ', then gc()' : ''}`);
    console.log(`  ${pauses()}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  memory('12 s later');
} finally {
  await cluster.stop();
}
