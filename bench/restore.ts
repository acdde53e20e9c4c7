// Restore of a 3-member cluster from an EtcdBackup: `kubectl apply` of an EtcdCluster with
// spec.restore -> Available, beside its floor in the same run: the real `etcdutl snapshot restore`
// three times (one data directory per member, as the restore pods do) plus a bare 3-member start
// (`floor.start3` of the floor section, measured in the same invocation with --only floor,restore).
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EtcdBackup } from '../src/api/backup-types.generated.js';
import { etcdBinary } from '../test/harness/binaries.js';
import { waitFor } from '../test/harness/wait.js';
import { fill, snapshotToFile, withObjectStore, writeClientTls } from './backup.js';
import { etcdCluster } from './env.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const run = promisify(execFile);
const ns = 'restore';
const source = 'source';
const bucket = 'bench';
const section = 'Restore: a new 3-member EtcdCluster from an EtcdBackup';

export async function restoreBench(results: Results, options: RunOptions): Promise<void> {
  const totalMiB = options.quick ? 64 : 256;
  await withObjectStore('bench-restore', ns, async (env, s3) => {
    await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, source, 1));
    await env.waitConverged(ns, source, 1);
    const dbBytes = await fill(env, totalMiB, ns, source);
    const destination = { endpoint: s3.endpoint, bucket, caBundle: s3.caPem, credentialsSecretRef: { name: 's3' } };
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'snap', namespace: ns }, spec: { clusterName: source, destination } }));
    const backup = await waitFor('the backup', async () => {
      const b = JSON.parse(await env.kubectl(['get', 'etcdbackup', 'snap', '-n', ns, '-o', 'json'])) as EtcdBackup;
      if (b.status?.phase === 'Failed') throw new Error(`backup failed: ${JSON.stringify(b.status.conditions)}`);
      return b.status?.phase === 'Succeeded' ? b : undefined;
    }, { timeoutMs: 600_000, intervalMs: 250 });
    const sizeLabel = `${Math.round(dbBytes / 1048576)} MiB`;
    results.details['restore.source'] = { values: totalMiB, dbBytes, objectBytes: backup.status?.sizeBytes };
    // The same snapshot as a local file, for the floor's etcdutl (the download is not counted).
    const dir = join(env.cp.dir, 'bench-restore');
    const file = join(dir, 'snapshot.db');
    await writeClientTls(env, ns, source, join(dir, 'tls'));
    await snapshotToFile(env, ns, source, join(dir, 'tls'), file);
    for (let round = 0; round < options.runs; round++) {
      // Floor: etcdutl snapshot restore, once per member, one after the other.
      const initial = [0, 1, 2].map((i) => `m${i}=https://127.0.0.1:${40000 + i}`).join(',');
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) {
        const dataDir = join(dir, `floor-${round}-${i}`);
        await run(etcdBinary('etcdutl'), ['snapshot', 'restore', file, `--data-dir=${dataDir}`, `--name=m${i}`, `--initial-cluster=${initial}`, '--initial-cluster-token=bench', `--initial-advertise-peer-urls=https://127.0.0.1:${40000 + i}`], { maxBuffer: 16 * 1048576 });
      }
      results.add({ id: 'restore.etcdutl3', section, label: 'floor part: etcdutl snapshot restore x3', unit: 'ms' }, performance.now() - t0);
      for (let i = 0; i < 3; i++) rmSync(join(dir, `floor-${round}-${i}`), { recursive: true, force: true });
      // The operator: a new cluster restored from the backup, apply -> Available.
      const target = `copy-${round}`;
      const t1 = performance.now();
      await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, target, 3, { restore: { backupName: 'snap' } }));
      await env.waitConverged(ns, target, 3, 600_000);
      results.add({ id: 'restore.operator', section, label: `EtcdCluster of 3 restored from ${sizeLabel}: kubectl apply -> Available, 3/3`, unit: 'ms', floor: 'restore.etcdutl3' }, performance.now() - t1);
      await env.kubectl(['delete', 'etcdcluster', target, '-n', ns, '--wait=true']);
      console.log(`[bench] restore run ${round + 1}/${options.runs} done`);
    }
  });
}
