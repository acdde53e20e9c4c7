import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupDestination } from '../../src/api/backup-types.generated.js';
import { AttemptError, transfer } from '../../src/backup/attempt.js';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { partSizeBytes, s3Client } from '../../src/backup/s3.js';
import { freePort } from '../harness/ports.js';
import { makeHarnessDir, removeHarnessDir } from '../harness/process.js';
import { waitFor } from '../harness/wait.js';
import { type S3Server, startS3Server } from '../harness/s3.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest();

/** What etcd sends: the database, then its SHA-256; `corrupt` flips a byte in the middle. */
function snapshotStream(db: Buffer, corrupt = false): Readable {
  const data = Buffer.concat([db, sha(db)]);
  const middle = Math.floor(db.length / 2);
  if (corrupt) data[middle] = data[middle]! ^ 0xff;
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += 32 * 1024) chunks.push(data.subarray(at, at + 32 * 1024));
  return Readable.from(chunks);
}

/** A snapshot-shaped stream of `total` bytes made on demand (one 1 MiB block repeated), with its trailer. */
function syntheticSnapshot(total: number): Readable {
  const block = randomBytes(1024 * 1024);
  const hash = createHash('sha256');
  let sent = 0;
  return new Readable({
    read() {
      if (sent < total) {
        const chunk = block.subarray(0, Math.min(block.length, total - sent));
        hash.update(chunk);
        sent += chunk.length;
        this.push(chunk);
      } else {
        this.push(hash.digest());
        this.push(null);
      }
    },
  });
}

// The upload path against a real MinIO over TLS: a multipart upload of a streamed snapshot, and
// every way it can fail leaving no object and no multipart upload behind.
describe('backup upload to a real S3 server (MinIO, TLS)', () => {
  let dir: string;
  let s3: S3Server;
  const bucket = 'backups';
  const destination = (over: Partial<BackupDestination> = {}): BackupDestination => ({
    endpoint: s3.endpoint,
    bucket,
    region: 'us-east-1',
    forcePathStyle: true,
    credentialsSecretRef: { name: 'unused' },
    ...over,
  });
  const goodKeys = () => ({ accessKeyId: s3.accessKeyID, secretAccessKey: s3.secretAccessKey });
  const target = (key: string, b = bucket) => ({ bucket: b, key, contentType: 'application/octet-stream', metadata: { 'etcd-revision': '7' } });

  beforeAll(async () => {
    dir = makeHarnessDir('backup-s3');
    s3 = await startS3Server(dir, { tls: true });
    await s3.createBucket(bucket);
  }, 120_000);
  afterAll(async () => {
    await s3?.process.stop();
    removeHarnessDir(dir);
  });

  it.each(['none', 'gzip'] as const)('uploads a %s snapshot larger than one part, verified, with its metadata', async (compression) => {
    const db = Buffer.concat([randomBytes(2 * partSizeBytes), Buffer.alloc(partSizeBytes + 12345)]);
    const client = s3Client(destination(), goodKeys(), s3.caPem);
    const started = Date.now();
    const { verifier, meter } = await transfer(snapshotStream(db), client, target(`ok-${compression}`), compression, new AbortController().signal, s3.endpoint);
    console.log(`uploaded ${db.length} bytes (${compression}) as ${meter.sizeBytes} in ${Date.now() - started} ms`);
    expect(verifier.result).toEqual({ sizeBytes: db.length, sha256: sha(db).toString('hex') });
    const head = await s3.head(bucket, `ok-${compression}`);
    expect(head?.size).toBe(meter.sizeBytes);
    expect(head?.metadata['etcd-revision']).toBe('7');
    const stored: Buffer[] = [];
    for await (const chunk of await s3.read(bucket, `ok-${compression}`)) stored.push(chunk as Buffer);
    expect(sha(Buffer.concat(stored)).toString('hex')).toBe(meter.sha256());
    if (compression === 'none') expect(meter.sha256()).toBe(sha(db).toString('hex'));
    else expect(meter.sizeBytes).toBeLessThan(db.length);
    client.destroy();
  });

  it('streams 512 MiB with a bounded memory footprint (the snapshot is never held whole)', async () => {
    const total = 512 * 1024 * 1024;
    const client = s3Client(destination(), goodKeys(), s3.caPem);
    const footprint = () => {
      const m = process.memoryUsage();
      return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
    };
    const base = footprint();
    const peak = { ...base };
    const sampler = setInterval(() => {
      const now = footprint();
      for (const k of ['heap', 'buffers', 'rss'] as const) peak[k] = Math.max(peak[k], now[k]);
    }, 50);
    const started = Date.now();
    try {
      const { meter } = await transfer(syntheticSnapshot(total), client, target('big'), 'none', new AbortController().signal, s3.endpoint);
      expect(meter.sizeBytes).toBe(total);
    } finally {
      clearInterval(sampler);
      client.destroy();
    }
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    const grew = peak.heap - base.heap + (peak.buffers - base.buffers);
    console.log(`512 MiB upload: ${Date.now() - started} ms; growth: heap ${mib(peak.heap - base.heap)} MiB, buffers ${mib(peak.buffers - base.buffers)} MiB, rss ${mib(peak.rss - base.rss)} MiB`);
    expect((await s3.head(bucket, 'big'))?.size).toBe(total);
    expect(grew).toBeLessThan(64 * 1024 * 1024);
  }, 300_000);

  it('aborts the multipart upload of a corrupted snapshot: no object, no upload left', async () => {
    const db = randomBytes(3 * partSizeBytes);
    const client = s3Client(destination(), goodKeys(), s3.caPem);
    const err = await transfer(snapshotStream(db, true), client, target('corrupt'), 'none', new AbortController().signal, s3.endpoint).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttemptError);
    expect((err as AttemptError).failure).toMatchObject({ reason: 'SnapshotCorrupt' });
    expect(await s3.head(bucket, 'corrupt')).toBeUndefined();
    expect(await s3.pendingUploads(bucket)).toBe(0);
    client.destroy();
  });

  it.each([
    ['wrong credentials', () => ({ dest: destination(), keys: { accessKeyId: 'nobody', secretAccessKey: 'wrong-secret-key' }, ca: s3.caPem }), 'CredentialsRejected', false],
    ['a wrong secret key', () => ({ dest: destination(), keys: { ...goodKeys(), secretAccessKey: 'wrong-secret-key' }, ca: s3.caPem }), 'CredentialsRejected', false],
    ['a missing bucket', () => ({ dest: destination({ bucket: 'no-such-bucket' }), keys: goodKeys(), ca: s3.caPem }), 'BucketNotFound', false],
    ['an endpoint whose CA is not trusted', () => ({ dest: destination(), keys: goodKeys(), ca: undefined }), 'EndpointNotTrusted', false],
  ])('classifies %s, leaving nothing behind', async (_name, setup, reason, retryable) => {
    const { dest, keys, ca } = setup();
    const client = s3Client(dest, keys, ca);
    const db = randomBytes(partSizeBytes + 1000);
    const err = await transfer(snapshotStream(db), client, target('refused', dest.bucket), 'none', new AbortController().signal, dest.endpoint).catch((e: unknown) => e);
    expect((err as AttemptError).failure, String(err)).toMatchObject({ reason, retryable });
    expect(await s3.head(bucket, 'refused')).toBeUndefined();
    expect(await s3.pendingUploads(bucket)).toBe(0);
    client.destroy();
  });

  // The stall deadline on the member's side (shortened here): a snapshot stream that stops
  // sending mid-way ends the transfer as a retryable SnapshotFailed saying so, and the multipart
  // upload already holding parts is aborted at once, not left for the next attempt.
  it('aborts a transfer whose snapshot stream stops sending, and its multipart upload with it', async () => {
    const client = s3Client(destination(), goodKeys(), s3.caPem);
    const block = randomBytes(1024 * 1024);
    let sent = 0;
    const hangs = new Readable({
      read() {
        if (sent < 2 * partSizeBytes + block.length) {
          sent += block.length;
          this.push(block);
        }
      },
    });
    const seen: number[] = [];
    const started = Date.now();
    const err = await transfer(hangs, client, target('hung-member'), 'none', new AbortController().signal, s3.endpoint, { memberName: 'db-0', limitMs: 1_500, onProgress: (p) => seen.push(p.storedBytes) }).catch((e: unknown) => e);
    const tookMs = Date.now() - started;
    client.destroy();
    console.log(`member stopped sending: transfer ended after ${tookMs} ms: ${(err as AttemptError).failure?.reason}: ${(err as AttemptError).failure?.message}`);
    expect((err as AttemptError).failure).toMatchObject({ reason: 'SnapshotFailed', retryable: true });
    expect((err as AttemptError).failure.message).toContain('db-0 sent nothing for');
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(partSizeBytes);
    expect(tookMs).toBeLessThan(15_000);
    expect(await s3.head(bucket, 'hung-member')).toBeUndefined();
    expect(await s3.pendingUploads(bucket)).toBe(0);
  });

  it('classifies an endpoint nobody listens on as unreachable (retryable)', async () => {
    const endpoint = `https://127.0.0.1:${await freePort()}`;
    const client = s3Client(destination({ endpoint }), goodKeys(), s3.caPem);
    const err = await transfer(snapshotStream(randomBytes(1000)), client, target('x'), 'none', new AbortController().signal, endpoint).catch((e: unknown) => e);
    expect((err as AttemptError).failure).toMatchObject({ reason: 'EndpointUnreachable', retryable: true });
    client.destroy();
  });

  it('refuses an endpoint whose certificate the CA bundle does not vouch for (not retried), and uploads nothing', async () => {
    const client = s3Client(destination(), goodKeys(), undefined);
    const err = await transfer(snapshotStream(randomBytes(1000)), client, target('untrusted'), 'none', new AbortController().signal, s3.endpoint).catch((e: unknown) => e);
    client.destroy();
    console.log(`no CA bundle: ${(err as AttemptError).failure?.reason}: ${(err as AttemptError).failure?.message}`);
    expect((err as AttemptError).failure).toMatchObject({ reason: 'EndpointNotTrusted', retryable: false });
    expect(await s3.head(bucket, 'untrusted')).toBeUndefined();
  });

  // An operator killed mid-upload (SIGKILL: no abort sent) leaves an incomplete multipart upload
  // of its key: storage the user pays for and never sees. The next attempt aborts it first.
  it('the next attempt at a key aborts the multipart upload an operator killed mid-upload left behind', async () => {
    const client = s3Client(destination(), goodKeys(), s3.caPem);
    const key = 'ns/db/leftover.db';
    const mine = { ...target(key), metadata: { 'etcd-backup-uid': 'uid-1' } };
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(partSizeBytes) }));
    // Another key's upload is none of this attempt's business.
    const other = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${key}.other` }));
    expect(await s3.pendingUploads(bucket)).toBe(2);
    await transfer(snapshotStream(randomBytes(1000)), client, mine, 'none', new AbortController().signal, s3.endpoint);
    const left = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    console.log(`multipart uploads left after the next attempt: ${JSON.stringify(left.Uploads?.map((u) => u.Key) ?? [])}`);
    expect(left.Uploads?.map((u) => u.Key)).toEqual([`${key}.other`]);
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: `${key}.other`, UploadId: other.UploadId }));
    client.destroy();
  });

  // Keys collide when two writers share a bucket and a folder (another Kubernetes cluster, an
  // EtcdBackup deleted and made again under its name): an object is never written over by
  // another EtcdBackup than the one that wrote it; an attempt of the same one may (a retry).
  it('never writes over an object another EtcdBackup wrote; a retry of the same one may', async () => {
    const client = s3Client(destination(), goodKeys(), s3.caPem);
    const key = 'ns/db/taken.db';
    const first = await transfer(snapshotStream(randomBytes(1000)), client, { ...target(key), metadata: { 'etcd-backup-uid': 'uid-a' } }, 'none', new AbortController().signal, s3.endpoint);
    const err = await transfer(snapshotStream(randomBytes(2000)), client, { ...target(key), metadata: { 'etcd-backup-uid': 'uid-b' } }, 'none', new AbortController().signal, s3.endpoint).catch((e: unknown) => e);
    console.log(`another EtcdBackup at the same key: ${String(err)}`);
    expect((err as AttemptError).failure, String(err)).toMatchObject({ reason: 'ObjectExists', retryable: false });
    expect((await s3.head(bucket, key))?.size).toBe(first.meter.sizeBytes);
    expect(await s3.pendingUploads(bucket)).toBe(0);
    const again = await transfer(snapshotStream(randomBytes(3000)), client, { ...target(key), metadata: { 'etcd-backup-uid': 'uid-a' } }, 'none', new AbortController().signal, s3.endpoint);
    expect((await s3.head(bucket, key))?.size).toBe(again.meter.sizeBytes);
    client.destroy();
  });

  // Last: it kills the server. The killed attempt cannot abort its multipart upload while the store
  // is down; whatever the store kept of it is no object (MinIO listed none after its restart).
  it('a store killed mid-upload fails the attempt as retryable, shows no object, and a retry succeeds', async () => {
    const client = s3Client(destination(), goodKeys(), s3.caPem);
    const attempt = transfer(syntheticSnapshot(512 * 1024 * 1024), client, target('killed'), 'none', new AbortController().signal, s3.endpoint).catch((e: unknown) => e);
    await waitFor('the multipart upload to start', async () => (await s3.pendingUploads(bucket)) > 0, { intervalMs: 50, timeoutMs: 60_000 });
    await sleep(500);
    process.kill(s3.process.pid, 'SIGKILL');
    const err = await attempt;
    client.destroy();
    expect((err as AttemptError).failure, String(err)).toMatchObject({ retryable: true });
    console.log(`killed mid-upload: ${(err as AttemptError).failure.reason}: ${(err as AttemptError).failure.message}`);
    await s3.start();
    expect(await s3.head(bucket, 'killed')).toBeUndefined();
    console.log(`incomplete multipart uploads left by the killed attempt: ${await s3.pendingUploads(bucket)}`);
    const retry = s3Client(destination(), goodKeys(), s3.caPem);
    const { meter } = await transfer(syntheticSnapshot(3 * partSizeBytes), retry, target('killed'), 'none', new AbortController().signal, s3.endpoint);
    retry.destroy();
    expect((await s3.head(bucket, 'killed'))?.size).toBe(meter.sizeBytes);
  }, 300_000);
});
