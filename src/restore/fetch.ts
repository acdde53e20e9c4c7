/**
 * The restore pod's own steps, run from the operator's image (`node dist/restore.js fetch|install`).
 *
 * fetch: stream the object from S3 to the volume, hashing on the way (the object as stored and the
 * database after decompression), never holding it in memory. A missing object, a digest that does
 * not match, or a snapshot from a later etcd minor than the target fails the pod with a message
 * the operator shows. The database is written with a trailing SHA-256, as etcd streams snapshots,
 * so etcdutl checks what it reads from disk once more.
 *
 * install: rename the staging directory etcdutl wrote into the member's data directory, unless a
 * data directory exists (a complete one: renames are atomic); then remove the work files.
 */
import { createWriteStream, existsSync, mkdirSync, openSync, fsyncSync, closeSync, readdirSync, renameSync, rmSync, appendFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SnapshotRevisionReader } from '../backup/bolt-revision.js';
import { Meter, sha256Length } from '../backup/stream.js';
import { s3Client } from '../backup/s3.js';
import { versionProblem } from './plan.js';

/** A failure the user must see: written to the termination message, exit code 1. */
export class RestoreStepError extends Error {
  override name = 'RestoreStepError';
}

/** Exit code of a fetch that may succeed if run again (EX_TEMPFAIL): the operator retries the pod. */
export const transientExitCode = 75;

/** Socket and DNS errors: nobody answered, which says nothing about the object. */
const networkCodes: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Transient: the object store did not answer (refused, reset, timed out, no DNS) or answered
 * 5xx, 429 or 408; running the pod again may succeed. Verdicts are RestoreStepErrors, never
 * transient: a missing object or bucket, rejected credentials (404, 403), a digest that does not
 * match, a snapshot newer than the target. Judged by error code and HTTP status, not by text.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof RestoreStepError) return false;
  const e = (err ?? {}) as SdkError & { code?: string; name?: string; cause?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  if (e.name === 'TimeoutError' || networkCodes.has(e.code ?? '')) return true;
  return e.cause !== undefined && e.cause !== err ? isTransient(e.cause) : false;
}

export interface FetchOptions {
  endpoint: string;
  bucket: string;
  key: string;
  region: string;
  forcePathStyle: boolean;
  targetVersion: string;
  /** The volume's mount path; work files go to <volume>/restore. */
  volume: string;
  compression?: 'none' | 'gzip';
  sha256?: string;
  snapshotSha256?: string;
  accessKeyId: string;
  secretAccessKey: string;
  caPem?: string;
}

const workDir = (volume: string) => `${volume}/restore`;
export const snapshotPath = (volume: string) => `${workDir(volume)}/snapshot.db`;
export const stagingPath = (volume: string) => `${workDir(volume)}/staging`;
export const dataPath = (volume: string) => `${volume}/data`;

/**
 * etcdutl's own test for a trailing digest: a bolt database is a whole number of pages, so a size
 * 32 bytes past a multiple of 512 means the SHA-256 etcd appends is there.
 */
export function hasTrailingDigest(size: number): boolean {
  return size % 512 === sha256Length;
}

/** Which compression the object has: what the backup recorded, else its metadata or name. */
export function compressionOf(given: 'none' | 'gzip' | undefined, metadata: Record<string, string> | undefined, contentType: string | undefined, key: string): 'none' | 'gzip' {
  if (given) return given;
  if (metadata?.['compression'] === 'gzip' || metadata?.['compression'] === 'none') return metadata['compression'];
  return contentType === 'application/gzip' || key.endsWith('.gz') ? 'gzip' : 'none';
}

/** Counts bytes as they pass; keeps nothing. */
class Counter extends Transform {
  size = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    cb(null, chunk);
  }
}

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

async function openObject(o: FetchOptions) {
  const client = s3Client({ endpoint: o.endpoint, bucket: o.bucket, region: o.region, forcePathStyle: o.forcePathStyle, credentialsSecretRef: { name: '' } }, { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey }, o.caPem);
  try {
    return { client, object: await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key })) };
  } catch (err) {
    client.destroy();
    const e = (err ?? {}) as SdkError;
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) throw new RestoreStepError(`SnapshotNotFound: object ${o.key} does not exist in bucket ${o.bucket} at ${o.endpoint}`);
    if (e.name === 'NoSuchBucket') throw new RestoreStepError(`BucketNotFound: bucket ${o.bucket} does not exist at ${o.endpoint}`);
    if (e.$metadata?.httpStatusCode === 403) throw new RestoreStepError(`CredentialsRejected: ${o.endpoint} refused the credentials (${e.name ?? 'AccessDenied'})`);
    throw err;
  }
}

/** Downloads and checks the snapshot; on success <volume>/restore/snapshot.db holds it with its digest. */
export async function fetchSnapshot(o: FetchOptions): Promise<{ sizeBytes: number; sha256: string; revision: number | string }> {
  rmSync(workDir(o.volume), { recursive: true, force: true });
  mkdirSync(workDir(o.volume), { recursive: true });
  const { client, object } = await openObject(o);
  try {
    const tooNew = versionProblem(object.Metadata?.['etcd-version'], o.targetVersion);
    if (tooNew) throw new RestoreStepError(`SnapshotTooNew: ${tooNew}`);
    const compression = compressionOf(o.compression, object.Metadata, object.ContentType, o.key);
    const objectMeter = new Meter();
    const dbMeter = new Meter();
    const part = `${snapshotPath(o.volume)}.part`;
    const out = createWriteStream(part);
    const counter = new Counter();
    const tree = new SnapshotRevisionReader();
    await pipeline([object.Body as Readable, objectMeter, ...(compression === 'gzip' ? [createGunzip()] : []), counter, tree, dbMeter, out]).catch((err: unknown) => {
      throw isZlibError(err) ? new RestoreStepError(`SnapshotCorrupt: object ${o.key} is not a whole gzip stream (${(err as Error).message}): refusing to restore it`) : err;
    });
    const objectSha = objectMeter.sha256();
    const dbSha = dbMeter.sha256();
    if (o.sha256 && objectSha !== o.sha256) throw new RestoreStepError(`SnapshotCorrupt: object ${o.key} has SHA-256 ${objectSha}, expected ${o.sha256}: refusing to restore it`);
    if (o.snapshotSha256 && dbSha !== o.snapshotSha256) throw new RestoreStepError(`SnapshotCorrupt: the database in ${o.key} has SHA-256 ${dbSha}, expected ${o.snapshotSha256}: refusing to restore it`);
    // Without a recorded digest (a restore by key), only the database's own shape can tell an
    // object cut short: etcdutl 3.6.16 restored a small bbolt file missing its last page without a
    // word, and on a larger one crashed with a Go stack trace for its message.
    const short = tree.incomplete();
    if (short) throw new RestoreStepError(`SnapshotCorrupt: the database in ${o.key} is not a whole bbolt file (${short}): refusing to restore it`);
    const revision = revisionOf(tree);
    // A database without etcd's trailer (what EtcdBackup uploads) gets the digest just checked.
    if (!hasTrailingDigest(counter.size)) appendFileSync(part, Buffer.from(dbSha, 'hex'));
    syncFile(part);
    renameSync(part, snapshotPath(o.volume));
    syncFile(workDir(o.volume));
    return { sizeBytes: counter.size, sha256: objectSha, revision };
  } catch (err) {
    rmSync(workDir(o.volume), { recursive: true, force: true });
    throw err;
  } finally {
    client.destroy();
  }
}

/** zlib's own errors (Z_BUF_ERROR: the stream ended early; Z_DATA_ERROR: not gzip): the object, not the network. */
function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** The revision the database holds, for the log; a tree this reader cannot walk is left to etcdutl. */
function revisionOf(tree: SnapshotRevisionReader): number | string {
  try {
    return tree.revision();
  } catch (err) {
    return `unread: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Moves etcdutl's output into place; a data directory already there is kept as it is. */
export function install(volume: string): 'installed' | 'alreadyInstalled' {
  const data = dataPath(volume);
  const present = existsSync(data) && readdirSync(data).length > 0;
  if (!present) {
    if (!existsSync(stagingPath(volume))) throw new RestoreStepError(`RestoreIncomplete: etcdutl left no data directory at ${stagingPath(volume)}`);
    rmSync(data, { recursive: true, force: true });
    renameSync(stagingPath(volume), data);
    syncFile(dirname(data));
  }
  rmSync(workDir(volume), { recursive: true, force: true });
  return present ? 'alreadyInstalled' : 'installed';
}
