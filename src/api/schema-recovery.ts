/**
 * Quorum-loss recovery with the user's consent (issue 16): the consent in spec, what the status
 * reports while quorum is lost, and the durable record of a recovery. See src/recovery.
 */
import { type Schema, array, enumOf, int64, object, string } from './schema-builders.js';

const podName = (description: string) => string(description, 253, { pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });

const consentFields: Record<string, Schema> = {
  clusterUID: string('metadata.uid of this EtcdCluster (kubectl get etcdcluster NAME -o jsonpath={.metadata.uid}).', 36, { pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }),
  fromSurvivor: object(
    'Recover from a surviving member: it restarts once with --force-new-cluster keeping its data, the other members and their volumes are deleted, and the cluster grows back to spec.replicas through learners. Needs storage.type PersistentVolumeClaim.',
    { member: podName('The member (pod name) to recover from; it must answer. Default: the answering member with the highest revision.') },
    { title: 'EtcdClusterRecoveryFromSurvivor' },
  ),
  fromBackup: object(
    'Recover from a backup: every member and volume is deleted and the members are rebuilt from the snapshot (as spec.restore does). status.clusterID then names the cluster ID the restored members answer with.',
    { backupName: string('A Succeeded EtcdBackup of this cluster, in this namespace.', 253, { minLength: 1 }) },
    { title: 'EtcdClusterRecoveryFromBackup', required: ['backupName'] },
  ),
};

export const recoveryConsent: Schema = object(
  "Consent to recover this cluster after it lost its quorum, which the operator never does on its own. Honoured only while the quorum is lost (Available=False, QuorumLost), only when clusterUID is this object's metadata.uid (so a copied manifest cannot trigger it), and only once: status.recovery records the consent it spent. A consent seen while the quorum is healthy is ignored for good. To consent again later, remove spec.recovery, wait until status.recovery no longer shows a consent, and set it again. Writes acknowledged after the chosen source's revision are lost; status.quorumRecovery says how many revisions each option loses.",
  consentFields,
  {
    title: 'EtcdClusterRecoveryConsent',
    required: ['clusterUID'],
    'x-kubernetes-validations': [{ rule: 'has(self.fromSurvivor) != has(self.fromBackup)', message: 'spec.recovery names one source: fromSurvivor (optionally with a member) or fromBackup (with a backupName), not both and not neither.' }],
  },
);

const survivor = object(
  'A member that still answers for itself.',
  {
    name: string('Member (pod) name.', 253),
    memberID: string('Member ID in lowercase hexadecimal.', 16),
    appliedIndex: int64('Raft index it has applied.', { minimum: 0 }),
    revision: int64('Its key-value store revision.', { minimum: 0 }),
  },
  { title: 'EtcdClusterSurvivor', required: ['name', 'memberID'] },
);

const option = object(
  'One way to recover and what it would lose.',
  {
    source: enumOf('Survivor or Backup.', ['Survivor', 'Backup']),
    name: string('The member or the EtcdBackup.', 253),
    revision: int64('The revision it holds.', { minimum: 0 }),
    lostRevisions: int64('Revisions it lacks against referenceRevision: writes acknowledged after it are lost.', { minimum: 0 }),
  },
  { title: 'EtcdClusterRecoveryOption', required: ['source', 'name'] },
);

/** Rebuilt every pass while the quorum is lost; absent otherwise. */
export const quorumRecoveryStatus: Schema = object(
  'While the quorum is lost: what survives, and what each recovery option (spec.recovery) would lose.',
  {
    survivors: array('Members that answer, most advanced first.', survivor, 16, { 'x-kubernetes-list-type': 'atomic' }),
    newestBackup: object(
      'The newest Succeeded EtcdBackup of this cluster.',
      { name: string('The EtcdBackup.', 253), revision: int64('Revision its snapshot holds.', { minimum: 0 }), completionTime: string('When it was uploaded.', 64, { format: 'date-time' }) },
      { title: 'EtcdClusterRecoveryBackup', required: ['name'] },
    ),
    referenceRevision: int64('The highest revision known: status.lastRevision, or a survivor\'s if higher. Writes after status.lastRevision.observedAt may be unknown, so losses are at least the figures shown.', { minimum: 0 }),
    options: array('Recovery options, least loss first.', option, 17, { 'x-kubernetes-list-type': 'atomic' }),
  },
  { title: 'EtcdClusterQuorumRecovery' },
);

export const lastRevisionStatus: Schema = object(
  'The highest revision observed while the quorum was healthy (refreshed at most every 30 s): the reference for what a recovery loses.',
  { revision: int64('etcd revision.', { minimum: 0 }), observedAt: string('When it was observed.', 64, { format: 'date-time' }) },
  { title: 'EtcdClusterLastRevision', required: ['revision', 'observedAt'] },
);

/** Durable: carried from pass to pass; what makes a consent spent across operator restarts. */
export const recoveryRecord: Schema = object(
  'The last consented recovery (or ignored consent) and how far it got. Kept so that a consent fires at most once.',
  {
    consent: object('The spec.recovery this record is about; dropped once spec.recovery is removed, so the same consent may be given again.', consentFields, { title: 'EtcdClusterSpentConsent' }),
    phase: enumOf('Ignored (given while the quorum was healthy), Stopping (members and lost volumes are deleted, then the survivor runs once with --force-new-cluster), Restoring (from a backup: the snapshot is laid onto new member volumes), Rejoining (from a survivor: that run answered as a one-member cluster and is never repeated, the survivor starts again and the cluster grows back; from a backup: the restored members start), Succeeded (the recovered cluster answers).', ['Ignored', 'Stopping', 'Restoring', 'Rejoining', 'Succeeded']),
    member: string('The member recovered from (from a survivor).', 253),
    memberID: string('Its member ID in lowercase hexadecimal.', 16),
    revision: int64('The revision the recovery starts from.', { minimum: 0 }),
    lostRevisions: int64('Revisions lost against the reference revision when it started.', { minimum: 0 }),
    startedAt: string('When the consent was acted on (or ignored).', 64, { format: 'date-time' }),
    completedAt: string('When the cluster answered again from the source.', 64, { format: 'date-time' }),
    message: string('What was done and what was lost.', 4096),
  },
  { title: 'EtcdClusterRecoveryRecord', required: ['phase'] },
);
