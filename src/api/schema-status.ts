/**
 * The schema of EtcdCluster.status, rebuilt by the operator on every pass. Member and cluster IDs
 * are hexadecimal strings, as etcdctl prints them: 64-bit IDs never pass through a JS number.
 */
import { lastRevisionStatus, quorumRecoveryStatus, recoveryRecord } from './schema-recovery.js';
import { type Schema, array, boolean, enumOf, int32, int64, object, string, stringList } from './schema-builders.js';

const hexId = (description: string) => string(description, 16, { pattern: '^[0-9a-f]{1,16}$' });

const member = object(
  'One etcd member as the cluster reports it.',
  {
    name: string('Member name, which is also its pod name. etcd reports no name until a member has started; the operator then writes a placeholder.', 253),
    memberID: hexId('Member ID in lowercase hexadecimal, as etcdctl prints it.'),
    peerURLs: stringList('URLs peers reach this member on.', 8, 512),
    clientURLs: stringList('URLs clients reach this member on.', 8, 512),
    role: enumOf('Voter, or Learner while it catches up before promotion.', ['Voter', 'Learner']),
    isLeader: boolean('Whether this member is the raft leader.'),
    healthy: boolean('Whether the member answered its last health check.'),
    version: string('etcd server version the member reports.', 64),
    dbSizeBytes: int64('Size of the member database file in bytes.'),
  },
  { title: 'EtcdMemberStatus', required: ['name', 'memberID'] },
);

/** The standard metav1.Condition shape. */
export const condition = object(
  'One aspect of the cluster state; see conditions.ts for types and reasons.',
  {
    type: string('Condition type: Available, Progressing or Degraded.', 316, { pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
    status: enumOf('True, False or Unknown.', ['True', 'False', 'Unknown']),
    observedGeneration: int64('The .metadata.generation this condition was set for.', { minimum: 0 }),
    lastTransitionTime: string('When status last changed.', 64, { format: 'date-time' }),
    reason: string('CamelCase reason for the last transition.', 1024, { minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: string('Human-readable details.', 32768),
  },
  { title: 'Condition', required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

/** Rebuilt every pass from the cluster's EtcdBackups (src/backup/cluster-status.ts). */
const backupStatus = object(
  'Backups of this cluster, as its EtcdBackup objects show them: the last success, and what failed since.',
  {
    lastSuccessful: object(
      'The newest backup that succeeded.',
      {
        name: string('The EtcdBackup.', 253),
        completionTime: string('When it was uploaded.', 64, { format: 'date-time' }),
        revision: int64('etcd revision the snapshot holds.', { minimum: 0 }),
        sizeBytes: int64('Size of the uploaded object.', { minimum: 0 }),
        key: string('Object key in the bucket.', 1024),
      },
      { title: 'EtcdClusterLastBackup', required: ['name', 'completionTime'] },
    ),
    lastFailed: object(
      'The newest backup that failed for good, if it failed after the last success.',
      {
        name: string('The EtcdBackup.', 253),
        completionTime: string('When it failed.', 64, { format: 'date-time' }),
        reason: string('Why, as the reason of its Failed condition.', 1024),
        message: string('Details, as the message of its Failed condition.', 32768),
      },
      { title: 'EtcdClusterFailedBackup', required: ['name', 'completionTime'] },
    ),
    failuresSinceSuccess: int32('Backups that failed for good after the last successful one.', { minimum: 0 }),
    nextScheduleTime: string('When the schedule of spec.backup creates the next backup; absent when suspended or never.', 64, { format: 'date-time' }),
  },
  { title: 'EtcdClusterBackupStatus' },
);

export const statusSchema: Schema = object(
  'Observed state of the etcd cluster, rebuilt from the world on every pass.',
  {
    observedGeneration: int64('The .metadata.generation the operator last acted on.'),
    replicas: int32('Members in the cluster (the scale subresource reports it).'),
    readyReplicas: int32('Members that are healthy.'),
    selector: string('Label selector of member pods, for the scale subresource.', 1024),
    // Keyed by ID, the one field etcd guarantees unique: members that have not started share an empty name.
    members: array('Members as etcd reports them.', member, 16, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['memberID'] }),
    leader: string('Name of the leader member.', 253),
    clusterID: hexId('Cluster ID in lowercase hexadecimal.'),
    currentVersion: string('Lowest etcd version among members. Upgrade rules compare spec.version with it.', 64),
    clientEndpoint: string('URL clients connect to.', 512),
    caSecretName: string('Secret holding the CA certificate (ca.crt) clients should trust.', 253),
    clientSecretName: string('Secret holding a client certificate (tls.crt, tls.key, ca.crt) for users of the cluster.', 253),
    backup: backupStatus,
    lastRevision: lastRevisionStatus,
    quorumRecovery: quorumRecoveryStatus,
    recovery: recoveryRecord,
    conditions: array('Available, Progressing and Degraded.', condition, 8, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  },
  { title: 'EtcdClusterStatus' },
);
