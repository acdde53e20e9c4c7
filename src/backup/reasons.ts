/**
 * Condition types and reasons on an EtcdBackup's status: CamelCase constants, so tools and
 * tests match them without parsing messages.
 */
export const backupConditionTypes = {
  /** True once the object is uploaded and its digest recorded. */
  complete: 'Complete',
  /** True when the backup stopped for good; the reason says why. */
  failed: 'Failed',
} as const;

export const backupReasons = {
  // Waiting to start (Complete=False)
  clusterNotFound: 'ClusterNotFound',
  clusterNotReady: 'ClusterNotReady',
  anotherBackupRunning: 'AnotherBackupRunning',
  retrying: 'Retrying',
  // Under way
  uploading: 'Uploading',
  // Done
  uploaded: 'Uploaded',
  // Failures a user can act on (Failed=True)
  credentialsSecretInvalid: 'CredentialsSecretInvalid',
  credentialsRejected: 'CredentialsRejected',
  bucketNotFound: 'BucketNotFound',
  endpointUnreachable: 'EndpointUnreachable',
  endpointNotTrusted: 'EndpointNotTrusted',
  /** The object key holds an object another EtcdBackup (or something else) wrote. */
  objectExists: 'ObjectExists',
  quorumLost: 'QuorumLost',
  /** The EtcdCluster a begun backup is of was deleted and another made under its name. */
  clusterReplaced: 'ClusterReplaced',
  // Failures after retries ran out
  snapshotCorrupt: 'SnapshotCorrupt',
  snapshotFailed: 'SnapshotFailed',
  uploadFailed: 'UploadFailed',
  /** The store accepted connections but no bytes for the stall deadline (stall.ts). */
  storeStalled: 'StoreStalled',
  interrupted: 'Interrupted',
  notFailed: 'NotFailed',
} as const;

export type BackupReason = (typeof backupReasons)[keyof typeof backupReasons];

/** A failure of one attempt: whether another attempt may succeed, and what to tell the user. */
export interface BackupFailure {
  reason: BackupReason;
  message: string;
  /** Worth another attempt (a network blip, a member restarting); false when input must change. */
  retryable: boolean;
}
