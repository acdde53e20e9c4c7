// What one cluster's etcd client costs the operator's process, apart from everything else:
// N admin clients (one per cluster, as the operator keeps them), each with one call answered by
// one real TLS etcd member; memory with all N open, then after closing them; then the CPU of a
// call on an open client against a call that dials (TLS handshake) first.
// hack/node.sh npx tsx --expose-gc bench/client-memory.ts [N]
import { createEtcdAdmin } from '../src/etcd/client.js';
import type { EtcdAdmin } from '../src/etcd/types.js';
import { startEtcdCluster } from '../test/harness/etcd-cluster.js';

const n = Number(process.argv[2] ?? 100);
const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function memory(label: string): void {
  gc();
  const m = process.memoryUsage();
  const f = (b: number) => `${Math.round(b / MiB)}`;
  console.log(`${label}: rss ${f(m.rss)} MiB, heapTotal ${f(m.heapTotal)}, heapUsed ${f(m.heapUsed)}, external ${f(m.external)}, arrayBuffers ${f(m.arrayBuffers)}`);
}

const cluster = await startEtcdCluster({ size: 1, label: 'client-memory' });
try {
  const endpoint = cluster.endpoints()[0]!;
  const tls = { caPem: cluster.pki.trustedCaPem, certPem: cluster.pki.client.certPem, keyPem: cluster.pki.client.keyPem };
  const open = () => createEtcdAdmin({ endpoints: [endpoint], serverNames: { [endpoint]: 'localhost' }, tls, callTimeoutMs: 5_000 });
  await open().status(endpoint);
  memory('before');
  const admins: EtcdAdmin[] = [];
  for (let i = 0; i < n; i++) admins.push(open());
  for (let i = 0; i < n; i += 10) await Promise.all(admins.slice(i, i + 10).map((a) => a.status(endpoint)));
  memory(`${n} clients open`);
  for (const a of admins) a.close();
  await new Promise((r) => setTimeout(r, 2_000));
  memory(`${n} clients closed`);

  const cpuMs = async (calls: number, call: () => Promise<unknown>) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) await call();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / calls;
  };
  const kept = open();
  await kept.status(endpoint);
  const reused = await cpuMs(50, () => kept.status(endpoint));
  kept.close();
  const dialled = await cpuMs(50, async () => {
    const a = open();
    try {
      return await a.status(endpoint);
    } finally {
      a.close();
    }
  });
  console.log(`CPU per Status call: ${reused.toFixed(2)} ms on an open client, ${dialled.toFixed(2)} ms dialling first (TLS handshake)`);
  memory('end');
} finally {
  await cluster.stop();
}
