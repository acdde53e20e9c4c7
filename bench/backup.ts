// Backup of a large database: an on-demand EtcdBackup, from `kubectl apply` to Succeeded, beside
// its floor (the real `etcdctl snapshot save` to local disk, then a plain upload of that file to
// the same MinIO with the operator's own S3 client and part size), and the operator's RSS and JS
// heap while it streams the snapshot. A fresh control plane, operator and MinIO.
import { execFile } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Secret } from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import type { EtcdBackup } from '../src/api/backup-types.generated.js';
import { s3Client, upload } from '../src/backup/s3.js';
import { clientServiceHosts } from '../src/resources/names.js';
import { withClusterDns } from '../test/agent/fixtures.js';
import { etcdBinary } from '../test/harness/binaries.js';
import { type S3Server, startS3Server } from '../test/harness/s3.js';
import { waitFor } from '../test/harness/wait.js';
import { type BenchEnvironment, etcdCluster, startBenchEnvironment } from './env.js';
import { ensureNamespace } from './kube.js';
import { rssMiB } from './proc.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const run = promisify(execFile);
const ns = 'backup';
const name = 'big';
const bucket = 'bench';
const section = 'Backup: on-demand EtcdBackup of a large database';
const MiB = 1024 * 1024;
/** 1 MiB values of random bytes: incompressible, and under etcd's 1.5 MiB request limit. */
const valueBytes = MiB;

async function userClient(env: BenchEnvironment, namespace = ns, cluster = name): Promise<Etcd3> {
  const secret = JSON.parse(await env.kubectl(['get', 'secret', `${cluster}-client-tls`, '-n', namespace, '-o', 'json'])) as V1Secret;
  const pem = (k: string) => Buffer.from(secret.data![k]!, 'base64');
  const serverName = clientServiceHosts({ name: cluster, namespace }).at(-1)!;
  const pod = JSON.parse(await env.kubectl(['get', 'pod', `${cluster}-0`, '-n', namespace, '-o', 'json'])) as { status: { podIP: string } };
  return new Etcd3({
    hosts: [`https://${pod.status.podIP}:2379`],
    credentials: { rootCertificate: pem('ca.crt'), certChain: pem('tls.crt'), privateKey: pem('tls.key') },
    grpcOptions: { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName, 'grpc.max_send_message_length': 4 * MiB },
  });
}

/** Writes `totalMiB` one-MiB values, four at a time; returns the member's database size. */
export async function fill(env: BenchEnvironment, totalMiB: number, namespace = ns, cluster = name): Promise<number> {
  const client = await userClient(env, namespace, cluster);
  try {
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < totalMiB; i = next++) {
        const value = Buffer.allocUnsafe(valueBytes);
        for (let at = 0; at < valueBytes; at += 4) value.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, at);
        await client.put(`bench/${String(i).padStart(6, '0')}`).value(value);
      }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);
    return Number((await client.maintenance.status()).dbSize);
  } finally {
    client.close();
  }
}

/** Samples the operator's RSS and heap in use every 200 ms until stopped; returns the maxima. */
function sampleMemory(env: BenchEnvironment): { stop: () => Promise<{ rssMiB: number; heapMiB: number }> } {
  let stopped = false;
  let rss = 0;
  let heap = 0;
  const loop = (async () => {
    while (!stopped) {
      rss = Math.max(rss, rssMiB(env.operator().process.pid));
      heap = Math.max(heap, (await env.operator().metric('nodejs_heap_size_used_bytes')) / MiB);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { rssMiB: rss, heapMiB: heap };
    },
  };
}

/** The cluster's user client certificate as files in `tlsDir`, for etcdctl. */
export async function writeClientTls(env: BenchEnvironment, namespace: string, cluster: string, tlsDir: string): Promise<void> {
  mkdirSync(tlsDir, { recursive: true });
  const secret = JSON.parse(await env.kubectl(['get', 'secret', `${cluster}-client-tls`, '-n', namespace, '-o', 'json'])) as V1Secret;
  for (const key of ['ca.crt', 'tls.crt', 'tls.key']) writeFileSync(join(tlsDir, key), Buffer.from(secret.data![key]!, 'base64'), { mode: 0o600 });
}

/** The real `etcdctl snapshot save` of the cluster to `file`, with the files of writeClientTls. */
export async function snapshotToFile(env: BenchEnvironment, namespace: string, cluster: string, tlsDir: string, file: string): Promise<void> {
  const endpoints = ((await env.cluster(namespace, cluster)).status?.members ?? []).flatMap((m) => m.clientURLs ?? []);
  const tls = [`--cacert=${join(tlsDir, 'ca.crt')}`, `--cert=${join(tlsDir, 'tls.crt')}`, `--key=${join(tlsDir, 'tls.key')}`, `--endpoints=${endpoints.join(',')}`];
  const argv = withClusterDns(env.agent.hostsFile, [etcdBinary('etcdctl'), ...tls, 'snapshot', 'save', file]);
  await run(argv[0]!, argv.slice(1), { maxBuffer: 16 * MiB });
}

/**
 * A fresh control plane and operator, MinIO over TLS with the bucket, and `namespace` holding the
 * Secret `s3` with its credentials; `body` runs in it, and everything stops afterwards.
 */
export async function withObjectStore(label: string, namespace: string, body: (env: BenchEnvironment, s3: S3Server) => Promise<void>): Promise<void> {
  const env = await startBenchEnvironment(label);
  let s3: S3Server | undefined;
  try {
    s3 = await startS3Server(env.cp.dir, { tls: true });
    await s3.createBucket(bucket);
    await env.startOperator();
    await ensureNamespace(env, namespace);
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3', namespace }, stringData: { accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey } }));
    await body(env, s3);
  } finally {
    await s3?.process.stop();
    await env.stop();
  }
}

/** Floor: etcdctl snapshot save to a local file, then a plain multipart upload of the file. */
async function floor(env: BenchEnvironment, s3: S3Server, results: Results, dir: string, round: number): Promise<void> {
  const file = join(dir, `floor-${round}.db`);
  const t0 = performance.now();
  await snapshotToFile(env, ns, name, join(dir, 'tls'), file);
  const saved = performance.now();
  const client = s3Client({ endpoint: s3.endpoint, bucket, region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 'unused' } }, { accessKeyId: s3.accessKeyID, secretAccessKey: s3.secretAccessKey }, s3.caPem);
  try {
    await upload(client, { bucket, key: `floor-${round}.db`, contentType: 'application/octet-stream', metadata: {} }, createReadStream(file), new AbortController().signal);
  } finally {
    client.destroy();
  }
  const done = performance.now();
  results.details[`backup.floor.${round}`] = { snapshotSaveMs: Math.round(saved - t0), uploadMs: Math.round(done - saved), fileBytes: statSync(file).size };
  results.add({ id: 'backup.floor', section, label: 'floor: etcdctl snapshot save to disk + plain upload of the file', unit: 'ms' }, done - t0);
  rmSync(file);
}

/** The operator: kubectl apply of an EtcdBackup -> Succeeded, with its memory while it runs. */
async function operatorBackup(env: BenchEnvironment, s3: S3Server, results: Results, round: number, sizeLabel: string): Promise<void> {
  const backupName = `big-${round}`;
  const before = { rssMiB: rssMiB(env.operator().process.pid), heapMiB: (await env.operator().metric('nodejs_heap_size_used_bytes')) / MiB };
  const memory = sampleMemory(env);
  const t0 = performance.now();
  const backup = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: backupName, namespace: ns }, spec: { clusterName: name, destination: { endpoint: s3.endpoint, bucket, caBundle: s3.caPem, credentialsSecretRef: { name: 's3' } } } };
  await env.kubectl(['apply', '-f', '-'], JSON.stringify(backup));
  const done = await waitFor(`${backupName} to finish`, async () => {
    const b = JSON.parse(await env.kubectl(['get', 'etcdbackup', backupName, '-n', ns, '-o', 'json'])) as EtcdBackup;
    return b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed' ? b : undefined;
  }, { timeoutMs: 600_000, intervalMs: 250 });
  const ms = performance.now() - t0;
  const peak = await memory.stop();
  if (done.status?.phase !== 'Succeeded') throw new Error(`${backupName} failed: ${JSON.stringify(done.status?.conditions)}`);
  const s = done.status;
  results.details[`backup.operator.${round}`] = { statusMs: Date.parse(s.completionTime!) - Date.parse(s.startTime!), sizeBytes: s.sizeBytes, member: s.member, rssBeforeMiB: before.rssMiB, rssPeakMiB: peak.rssMiB, heapBeforeMiB: Math.round(before.heapMiB), heapPeakMiB: Math.round(peak.heapMiB) };
  results.add({ id: 'backup.operator', section, label: `EtcdBackup of ${sizeLabel}: kubectl apply -> Succeeded`, unit: 'ms', floor: 'backup.floor' }, ms);
  results.add({ id: 'backup.rss', section, label: 'operator RSS growth during the backup (peak - before)', unit: 'MiB' }, Math.max(0, peak.rssMiB - before.rssMiB));
  results.add({ id: 'backup.heap', section, label: 'operator JS heap growth during the backup (peak - before)', unit: 'MiB' }, Math.max(0, Math.round((peak.heapMiB - before.heapMiB) * 10) / 10));
  await env.kubectl(['delete', 'etcdbackup', backupName, '-n', ns]);
}

export async function backupBench(results: Results, options: RunOptions): Promise<void> {
  const totalMiB = options.quick ? 256 : 1024;
  await withObjectStore('bench-backup', ns, async (env, s3) => {
    // Room for the database: etcd's default quota is 2 GiB.
    await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 1, { options: { 'quota-backend-bytes': String(8 * 1024 * MiB) }}));
    await env.waitConverged(ns, name, 1);
    const t0 = performance.now();
    const dbBytes = await fill(env, totalMiB);
    results.details['backup.fill'] = { values: totalMiB, valueBytes, dbBytes, seconds: Math.round((performance.now() - t0) / 1000) };
    console.log(`[bench] backup: database filled to ${Math.round(dbBytes / MiB)} MiB in ${Math.round((performance.now() - t0) / 1000)} s`);
    const dir = join(env.cp.dir, 'bench-backup');
    await writeClientTls(env, ns, name, join(dir, 'tls'));
    const sizeLabel = `${Math.round(dbBytes / MiB)} MiB`;
    for (let round = 0; round < options.runs; round++) {
      await floor(env, s3, results, dir, round);
      await operatorBackup(env, s3, results, round, sizeLabel);
      console.log(`[bench] backup run ${round + 1}/${options.runs} done`);
    }
  });
}
