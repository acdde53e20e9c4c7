/**
 * The object store side: an S3 client for a destination, a streamed multipart upload, and the
 * classification of its errors. The client is @aws-sdk/client-s3 with @aws-sdk/lib-storage's
 * Upload: it reads the body part by part (partSize x queueSize bytes in memory, never the whole
 * snapshot), and on any failure, a body that errors included, it aborts the multipart upload so
 * no partial object ever becomes visible.
 */
import { Agent } from 'node:https';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BackupDestination } from '../api/backup-types.generated.js';
import { type BackupFailure, backupReasons } from './reasons.js';
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
      requestTimeout: 120_000,
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

/** Uploads `body` to completion, or aborts the multipart upload and rethrows. */
export async function upload(client: S3Client, target: UploadTarget, body: Readable, signal: AbortSignal): Promise<void> {
  const job = new Upload({
    client,
    params: { Bucket: target.bucket, Key: target.key, Body: body, ContentType: target.contentType, Metadata: target.metadata },
    partSize: partSizeBytes,
    queueSize: partsInFlight,
    leavePartsOnError: false,
  });
  const onAbort = () => void job.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await job.done();
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
