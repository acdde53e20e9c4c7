/**
 * The object store side: an S3 client for a destination, a streamed multipart upload, and the
 * classification of its errors. The client is @aws-sdk/client-s3 with @aws-sdk/lib-storage's
 * Upload: it reads the body part by part (partSize x queueSize bytes in memory, never the whole
 * snapshot), and on any failure, a body that errors included, it aborts the multipart upload so
 * no partial object ever becomes visible.
 */
import { Agent } from 'node:https';
import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, DeleteObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BackupDestination } from '../api/backup-types.generated.js';
import { crashpoint } from '../runtime/crashpoints.js';
import { type BackupFailure, backupReasons } from './reasons.js';
import { stallLimitMs } from './stall.js';
import { SnapshotIntegrityError } from './stream.js';

/** 8 MiB parts, two in flight: about 16 MiB of buffers whatever the database size. */
export const partSizeBytes = 8 * 1024 * 1024;
export const partsInFlight = 2;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export function s3Client(destination: BackupDestination, credentials: S3Credentials, caPem: string | undefined): S3Client {
  const tls = destination.endpoint.startsWith('https:');
  return new S3Client({
    endpoint: destination.endpoint,
    region: destination.region,
    forcePathStyle: destination.forcePathStyle,
    credentials,
    // Many S3-compatible stores reject the newer default checksums; send them only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // One SDK-level retry at most: attempts and their pauses are decided by the planner.
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: 10_000,
      // A socket silent this long fails its request (requestTimeout only logs a warning in this
      // SDK unless throwOnRequestTimeout is set): every call to a store that stopped answering
      // ends, the upload's parts and also the checks before it and retention's deletes.
      socketTimeout: stallLimitMs,
      ...(tls ? { httpsAgent: new Agent({ keepAlive: true, ...(caPem ? { ca: caPem } : {}) }) } : {}),
    },
  });
}

export interface UploadTarget {
  bucket: string;
  key: string;
  contentType: string;
  /** User metadata stored with the object (x-amz-meta-*): what retention and restore read back. */
  metadata: Record<string, string>;
}

/** The metadata naming the EtcdBackup that wrote an object: who may write over it (a retry). */
export const writerMetadata = 'etcd-backup-uid';

/** An object at the key that another writer made: never written over. */
export class ObjectTakenError extends Error {
  constructor(readonly key: string, readonly writer: string | undefined) {
    super(`s3 object ${key} exists and was written by ${writer ? `another EtcdBackup (uid ${writer})` : 'something other than an EtcdBackup'}`);
    this.name = 'ObjectTakenError';
  }
}

/**
 * Before an attempt writes its key: refuse when the object there is not this backup's (keys
 * collide when two Kubernetes clusters share a bucket and folder, or an EtcdBackup is deleted and
 * made again under its name, its object kept), and abort the multipart uploads of this exact key
 * that an earlier attempt left (an operator killed mid-upload never sent its abort; a store down
 * when it did refused it). Only this key's: others may be another backup's, in flight.
 */
async function claimKey(client: S3Client, target: UploadTarget, signal: AbortSignal): Promise<void> {
  const mine = target.metadata[writerMetadata];
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }), { abortSignal: signal });
    const writer = head.Metadata?.[writerMetadata];
    if (!mine || writer !== mine) throw new ObjectTakenError(target.key, writer);
  } catch (err) {
    // HEAD answers a bare 404 for a missing key and a missing bucket alike; the upload tells them
    // apart. A 403 may be credentials allowed to write only: then nobody can look, so the upload
    // goes on (and says so itself if the credentials are wrong).
    const status = (err as SdkError).$metadata?.httpStatusCode;
    if (status === 403) return;
    if (status !== 404) throw err;
  }
  try {
    await abortUploadsOf(client, target, signal);
  } catch (err) {
    // Not allowed to list or abort uploads: what is left stays for the bucket's lifecycle rule.
    if ((err as SdkError).$metadata?.httpStatusCode !== 403) throw err;
  }
}

async function abortUploadsOf(client: S3Client, target: UploadTarget, signal: AbortSignal): Promise<void> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: target.key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }), { abortSignal: signal });
    for (const u of page.Uploads ?? []) {
      if (u.Key === target.key && u.UploadId) await client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: u.Key, UploadId: u.UploadId }), { abortSignal: signal });
    }
    [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
  } while (keyMarker !== undefined || uploadIdMarker !== undefined);
}

/** How long an aborted upload may take to abort its multipart upload before the attempt ends anyway. */
export const abortUploadWithinMs = 3_000;

/**
 * Uploads `body` to completion, or aborts the multipart upload and rethrows. `onStored` hears the
 * bytes the store acknowledged so far (whole parts).
 */
export async function upload(client: S3Client, target: UploadTarget, body: Readable, signal: AbortSignal, onStored: (bytes: number) => void = () => undefined): Promise<void> {
  await claimKey(client, target, signal);
  const job = new Upload({
    client,
    params: { Bucket: target.bucket, Key: target.key, Body: body, ContentType: target.contentType, Metadata: target.metadata },
    partSize: partSizeBytes,
    queueSize: partsInFlight,
    leavePartsOnError: false,
  });
  job.on('httpUploadProgress', (progress) => {
    crashpoint('backup-upload-progress');
    if (progress.loaded !== undefined) onStored(progress.loaded);
  });
  const onAbort = () => void job.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await job.done();
  } catch (err) {
    // Upload gives up on an abort at once but aborts its multipart upload only once the parts in
    // flight return, which from a hung store is never: abort it here, within a bound. Should the
    // store not answer, the next attempt's claimKey aborts it.
    if (signal.aborted) await abortUploadsOf(client, target, AbortSignal.timeout(abortUploadWithinMs)).catch(() => undefined);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const tlsCodes = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** The S3 error code (NoSuchBucket...) or the socket error code, from the structured fields. */
function codeOf(err: SdkError): string {
  return err.code ?? (err.cause && typeof err.cause === 'object' ? ((err.cause as SdkError).code ?? '') : '') ?? '';
}

/**
 * What a failed upload means for the user. Classified by HTTP status and the S3 error code, never
 * by message text; an error without an HTTP status never reached the store.
 */
export function classifyUploadError(err: unknown, endpoint: string, bucket: string): BackupFailure {
  if (err instanceof SnapshotIntegrityError) return { reason: backupReasons.snapshotCorrupt, message: err.message, retryable: true };
  if (err instanceof ObjectTakenError) {
    return { reason: backupReasons.objectExists, message: `${err.message}: it is never written over. Keep it or delete it, or give this backup another name or destination.prefix, then create a new EtcdBackup`, retryable: false };
  }
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const detail = err instanceof Error ? `${e.name ?? 'Error'}: ${err.message}` : String(err);
  const code = codeOf(e);
  if (status === 403 || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch') {
    return { reason: backupReasons.credentialsRejected, message: `${endpoint} refused the credentials of destination.credentialsSecretRef (${detail}); fix the Secret's accessKeyID and secretAccessKey, then create a new EtcdBackup`, retryable: false };
  }
  if (e.name === 'NoSuchBucket') {
    return { reason: backupReasons.bucketNotFound, message: `bucket ${bucket} does not exist at ${endpoint}; create it (the operator never creates buckets), then create a new EtcdBackup`, retryable: false };
  }
  if (tlsCodes.has(code)) {
    return { reason: backupReasons.endpointNotTrusted, message: `${endpoint} presented a certificate that is not trusted (${code}); set destination.caBundle or caSecretRef to its CA`, retryable: false };
  }
  if (status === undefined) {
    return { reason: backupReasons.endpointUnreachable, message: `could not reach ${endpoint} (${code || detail})`, retryable: true };
  }
  return { reason: backupReasons.uploadFailed, message: `${endpoint} answered HTTP ${status} (${detail})`, retryable: status >= 500 || status === 429 };
}

/** Deletes one object; S3 answers success for a key that is already gone. */
export async function deleteObject(client: S3Client, bucket: string, key: string, signal: AbortSignal): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
}
