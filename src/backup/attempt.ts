/**
 * One attempt at a backup: stream a snapshot from a member, check etcd's digest, compress if
 * asked, and upload, all as one pipeline through bounded buffers. It runs outside any pass (it
 * may take minutes); passes observe it through `Attempts` as they would a Job.
 */
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdTls } from '../etcd/types.js';
import { backupObjectKey } from '../resources/names.js';
import { BackupInputError, readCa, readCredentials } from './kube.js';
import type { BackupResult } from './plan.js';
import { type BackupFailure, backupReasons } from './reasons.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { type UploadTarget, classifyUploadError, s3Client, upload, writerMetadata } from './s3.js';
import { SnapshotRevisionReader } from './bolt-revision.js';
import { type MemberEndpoint, openSnapshot } from './snapshot.js';
import { Meter, SnapshotVerifier } from './stream.js';
import { type StallWatch, type UploadProgress, stallCheckEveryMs, stallLimitMs, watchStall } from './stall.js';

export interface AttemptInput {
  kc: KubeConfig;
  backup: EtcdBackup;
  /** metadata.uid of the EtcdCluster the snapshot is taken of, recorded with the object. */
  clusterUID: string;
  /** Healthy voters, followers first; the first is used. */
  member: MemberEndpoint;
  memberName: string;
  tls: EtcdTls;
  callTimeoutMs: number;
  now: () => number;
  /** Hears how far the attempt got, at most once a second: what status shows while it runs. */
  onProgress?: (progress: UploadProgress) => void;
}

/** A failure with what the user should know; every error of an attempt ends up as one. */
export class AttemptError extends Error {
  constructor(readonly failure: BackupFailure) {
    super(failure.message);
    this.name = 'AttemptError';
  }
}

export async function runAttempt(input: AttemptInput, signal: AbortSignal): Promise<BackupResult> {
  const { backup } = input;
  const { destination, compression } = backup.spec;
  const started = input.now();
  let credentials, ca;
  try {
    [credentials, ca] = await Promise.all([readCredentials(input.kc, backup, signal), readCa(input.kc, backup, signal)]);
  } catch (err) {
    if (err instanceof BackupInputError) throw new AttemptError(err.failure);
    throw err;
  }
  const ref = { namespace: backup.metadata.namespace!, name: backup.spec.clusterName };
  const key = backupObjectKey(destination.prefix, ref, backup.metadata.name!, compression);
  const client = s3Client(destination, credentials, ca);
  let snapshot;
  try {
    snapshot = await openSnapshot(input.member, input.tls, input.callTimeoutMs, signal);
  } catch (err) {
    client.destroy();
    throw new AttemptError({ reason: backupReasons.snapshotFailed, message: `member ${input.memberName} did not start a snapshot: ${String(err)}`, retryable: true });
  }
  const metadata = {
    // Object metadata is sent before the first byte, so only the lower bound is known here.
    'etcd-revision-at-least': String(snapshot.revisionBefore),
    'etcd-cluster-id': snapshot.clusterID,
    'etcd-version': snapshot.etcdVersion,
    'etcd-cluster': `${ref.namespace}/${ref.name}`,
    // The name alone does not tell a cluster from one deleted and made again under it.
    'etcd-cluster-uid': input.clusterUID,
    'etcd-backup': backup.metadata.name!,
    [writerMetadata]: backup.metadata.uid ?? '',
    compression,
  };
  let moved: Transferred;
  try {
    moved = await transfer(snapshot.bytes, client, { bucket: destination.bucket, key, contentType: compression === 'gzip' ? 'application/gzip' : 'application/octet-stream', metadata }, compression, signal, destination.endpoint, { now: input.now, memberName: input.memberName, onProgress: input.onProgress });
  } catch (err) {
    if (signal.aborted) throw new AttemptError({ reason: backupReasons.interrupted, message: 'the operator stopped the attempt (shutdown or leadership lost)', retryable: true });
    if (err instanceof AttemptError && err.failure.reason === backupReasons.snapshotFailed) {
      throw new AttemptError({ ...err.failure, message: `the snapshot stream from ${input.memberName} failed: ${err.failure.message}` });
    }
    throw err;
  } finally {
    snapshot.close();
    client.destroy();
  }
  const { verifier, meter } = moved;
  const revision = exactRevision(moved.reader, snapshot.revisionBefore);
  return {
    member: input.memberName,
    ...revision,
    clusterID: snapshot.clusterID,
    clusterUID: input.clusterUID,
    etcdVersion: snapshot.etcdVersion,
    snapshotSizeBytes: verifier.result!.sizeBytes,
    snapshotSha256: verifier.result!.sha256,
    sizeBytes: meter.sizeBytes,
    sha256: meter.sha256(),
    bucket: destination.bucket,
    key,
    durationMs: input.now() - started,
  };
}

export interface Transferred {
  verifier: SnapshotVerifier;
  reader: SnapshotRevisionReader;
  meter: Meter;
}

/**
 * The revision read from the database itself. Should that fail (a format this reader does not
 * know), the backup is still good: it keeps the lower bound and says so rather than failing.
 */
function exactRevision(reader: SnapshotRevisionReader, before: number): Pick<BackupResult, 'revision' | 'revisionUnread'> {
  try {
    const revision = reader.revision();
    if (revision < before) throw new Error(`it read ${revision}, below the ${before} the member had applied before the snapshot began`);
    return { revision };
  } catch (err) {
    return { revision: before, revisionUnread: String(err instanceof Error ? err.message : err) };
  }
}

/** The stall deadline's inputs; tests shorten the limit. */
export interface TransferWatch {
  now: () => number;
  memberName: string;
  limitMs: number;
  onProgress: (progress: UploadProgress) => void;
}

/**
 * Streams etcd's bytes through the check, optional gzip and the meter into a multipart upload.
 * Which side failed first decides the reason: a refused upload stops the snapshot, and a snapshot
 * that fails its check destroys the body, which makes the upload abort. A transfer in which no
 * byte moves for the stall deadline is aborted (stall.ts decides).
 */
export async function transfer(bytes: Readable, client: S3Client, target: UploadTarget, compression: 'none' | 'gzip', signal: AbortSignal, endpoint: string, watch: Partial<TransferWatch> = {}): Promise<Transferred> {
  const { now = Date.now, memberName = 'the member', limitMs = stallLimitMs, onProgress = () => undefined } = watch;
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const verifier = new SnapshotVerifier();
  const reader = new SnapshotRevisionReader();
  const meter = new Meter();
  const body = new PassThrough();
  const stages: Transform[] = [verifier, reader, ...(compression === 'gzip' ? [createGzip({ level: 6 })] : []), meter];
  let uploadFailedFirst = false;
  let piped = false;
  let stored = 0;
  let stalled: BackupFailure | undefined;
  let seen: StallWatch = { moved: 0, stored: 0, lastProgressAtMs: now() };
  onProgress({ storedBytes: 0, lastProgressAtMs: seen.lastProgressAtMs });
  const watchdog = setInterval(() => {
    // The upload side holds things up when the body has bytes it has not taken (or has them all).
    const waitingOn = piped || body.readableLength > 0 ? 'store' : 'member';
    const verdict = watchStall(seen, { fromMember: meter.sizeBytes, stored, nowMs: now(), waitingOn }, limitMs, endpoint, memberName);
    if (verdict.watch !== seen) onProgress({ storedBytes: stored, lastProgressAtMs: verdict.watch.lastProgressAtMs });
    seen = verdict.watch;
    if (verdict.stalled && !stalled) {
      stalled = verdict.failure;
      stop.abort(new AttemptError(verdict.failure));
    }
  }, Math.min(stallCheckEveryMs, limitMs));
  const piping = pipeline([bytes, ...stages, body], { signal: both }).then(() => {
    piped = true;
  });
  const uploading = upload(client, target, body, both, (bytes) => (stored = bytes)).catch((err: unknown) => {
    uploadFailedFirst = true;
    stop.abort();
    throw err;
  });
  const [pipeDone, uploaded] = await Promise.allSettled([piping, uploading]).finally(() => clearInterval(watchdog));
  if (stalled) throw new AttemptError(stalled);
  if (uploaded.status === 'rejected' && (uploadFailedFirst || pipeDone.status === 'fulfilled')) {
    throw new AttemptError(classifyUploadError(uploaded.reason, endpoint, target.bucket));
  }
  if (pipeDone.status === 'rejected') {
    const failure = classifyUploadError(pipeDone.reason, endpoint, target.bucket);
    throw new AttemptError(failure.reason === backupReasons.snapshotCorrupt ? failure : { reason: backupReasons.snapshotFailed, message: String(pipeDone.reason), retryable: true });
  }
  onProgress({ storedBytes: meter.sizeBytes, lastProgressAtMs: now() });
  return { verifier, reader, meter };
}
