/**
 * One attempt at a backup: stream a snapshot from a member, check etcd's digest, compress if
 * asked, and upload, all as one pipeline through bounded buffers. It runs outside any pass (it
 * may take minutes); passes observe it through `Attempts` as they would a Job.
 */
import { PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdTls } from '../etcd/types.js';
import { backupObjectKey } from '../resources/names.js';
import { BackupInputError, readCa, readCredentials } from './kube.js';
import type { BackupResult } from './plan.js';
import { type BackupFailure, backupReasons } from './reasons.js';
import { classifyUploadError, s3Client, upload } from './s3.js';
import { type MemberEndpoint, openSnapshot } from './snapshot.js';
import { Meter, SnapshotVerifier } from './stream.js';

export interface AttemptInput {
  kc: KubeConfig;
  backup: EtcdBackup;
  /** Healthy voters, followers first; the first is used. */
  member: MemberEndpoint;
  memberName: string;
  tls: EtcdTls;
  callTimeoutMs: number;
  now: () => number;
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
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  let snapshot;
  try {
    snapshot = await openSnapshot(input.member, input.tls, input.callTimeoutMs, both);
  } catch (err) {
    client.destroy();
    throw new AttemptError({ reason: backupReasons.snapshotFailed, message: `member ${input.memberName} did not start a snapshot: ${String(err)}`, retryable: true });
  }
  const verifier = new SnapshotVerifier();
  const meter = new Meter();
  const body = new PassThrough();
  const stages: Transform[] = [verifier, ...(compression === 'gzip' ? [createGzip({ level: 6 })] : []), meter];
  // Which side failed first decides the reason: an upload refused stops the snapshot, and a
  // snapshot that fails its check destroys the body, which makes the upload abort.
  let uploadFailedFirst = false;
  const piping = pipeline([snapshot.bytes, ...stages, body], { signal: both });
  const uploading = upload(client, {
    bucket: destination.bucket,
    key,
    contentType: compression === 'gzip' ? 'application/gzip' : 'application/octet-stream',
    metadata: {
      'etcd-revision': String(snapshot.revision),
      'etcd-cluster-id': snapshot.clusterID,
      'etcd-version': snapshot.etcdVersion,
      'etcd-cluster': `${ref.namespace}/${ref.name}`,
      'etcd-backup': backup.metadata.name!,
      'etcd-backup-uid': backup.metadata.uid ?? '',
      compression,
    },
  }, body, both).catch((err: unknown) => {
    uploadFailedFirst = true;
    stop.abort();
    throw err;
  });
  const [piped, uploaded] = await Promise.allSettled([piping, uploading]);
  snapshot.close();
  client.destroy();
  if (signal.aborted) throw new AttemptError({ reason: backupReasons.interrupted, message: 'the operator stopped the attempt (shutdown or leadership lost)', retryable: true });
  if (uploaded.status === 'rejected' && (uploadFailedFirst || piped.status === 'fulfilled')) {
    throw new AttemptError(classifyUploadError(uploaded.reason, destination.endpoint, destination.bucket));
  }
  if (piped.status === 'rejected') {
    const failure = classifyUploadError(piped.reason, destination.endpoint, destination.bucket);
    throw new AttemptError(failure.reason === backupReasons.snapshotCorrupt ? failure : { reason: backupReasons.snapshotFailed, message: `the snapshot stream from ${input.memberName} failed: ${String(piped.reason)}`, retryable: true });
  }
  return {
    member: input.memberName,
    revision: snapshot.revision,
    clusterID: snapshot.clusterID,
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
