/**
 * Condition types and reasons on an EtcdCluster's status. Conditions follow metav1.Condition;
 * reasons are CamelCase constants so that tools and tests can match them without parsing text.
 */

export const conditionTypes = {
  /** True when a quorum of members is healthy and serves clients. */
  available: 'Available',
  /** True while the operator is changing the cluster (bootstrap, scaling, upgrade, repair). */
  progressing: 'Progressing',
  /** True when something needs attention: lost members, certificate problems, reconcile errors. */
  degraded: 'Degraded',
} as const;

export type ConditionType = (typeof conditionTypes)[keyof typeof conditionTypes];

export const conditionReasons = {
  // Available
  quorumHealthy: 'QuorumHealthy',
  quorumLost: 'QuorumLost',
  /**
   * Enough voters answer for a quorum, but none leads one: an election, or members that cannot
   * reach each other. Not yet a lost quorum (see src/controller/quorum-report.ts, leaderlessGraceMs).
   */
  noLeader: 'NoLeader',
  /**
   * Available=Unknown: members whose certificates the operator refuses, or that refuse its own,
   * are enough to make up a quorum, so it cannot tell whether one stands. Not a lost quorum: no
   * QuorumLost Warning, no recovery offer; every change waits (see src/controller/quorum-report.ts).
   */
  certificatesRefused: 'CertificatesRefused',
  // Progressing
  bootstrapping: 'Bootstrapping',
  scalingUp: 'ScalingUp',
  scalingDown: 'ScalingDown',
  addingLearner: 'AddingLearner',
  promotingLearner: 'PromotingLearner',
  removingMember: 'RemovingMember',
  movingLeader: 'MovingLeader',
  replacingLostMember: 'ReplacingLostMember',
  upgrading: 'Upgrading',
  /** An upgrade waits for its pre-flight: every member a healthy, caught-up voter without alarm. */
  upgradeWaiting: 'UpgradeWaiting',
  /** A downgrade through etcd's downgrade API: enabling, waiting for the data, rolling, cancelling. */
  downgrading: 'Downgrading',
  downgradeEnabled: 'DowngradeEnabled',
  downgradeCancelled: 'DowngradeCancelled',
  /** spec.options names a flag that spec.version does not know: nothing is rolled (Degraded). */
  optionUnknownToVersion: 'OptionUnknownToVersion',
  restartingMember: 'RestartingMember',
  learnerRetryBackoff: 'LearnerRetryBackoff',
  /** A CA rotation with trust overlap: one reason per phase (see src/pki/rotation.ts). */
  caRotationStarted: 'CARotationStarted',
  caRotationWidening: 'CARotationWidening',
  caRotationReissuing: 'CARotationReissuing',
  caRotationNarrowing: 'CARotationNarrowing',
  caRotationFinished: 'CARotationFinished',
  paused: 'Paused',
  reconciled: 'Reconciled',
  /** spec.storage.size grew: claims are expanded one by one, then the StatefulSet is recreated. */
  expandingVolumes: 'ExpandingVolumes',
  /** spec.restore: members' volumes are being seeded from the snapshot before etcd starts. */
  restoring: 'Restoring',
  /** A recovery the user consented to (spec.recovery) runs: see status.recovery. */
  recovering: 'Recovering',
  /** Upkeep (src/upkeep): a member is defragmented, or leadership moves away for it. */
  defragmenting: 'Defragmenting',
  /** Upkeep after NOSPACE: compaction, defragmentation, then disarming the alarm. */
  recoveringSpace: 'RecoveringSpace',
  // Degraded
  memberUnhealthy: 'MemberUnhealthy',
  /** A member serves a certificate the operator refuses (expired, another CA, ...) or refuses the operator's. */
  memberCertificateRefused: 'MemberCertificateRefused',
  caSecretMissing: 'CASecretMissing',
  caSecretInvalid: 'CASecretInvalid',
  caKeyMismatch: 'CAKeyMismatch',
  /** The CA to sign with is not the one members trust: changing it needs a trust overlap. */
  caChanged: 'CAChanged',
  caExpiringSoon: 'CAExpiringSoon',
  /** A CA rotation cannot go on: a certificate Secret it needs is missing or unexpected. */
  caRotationBlocked: 'CARotationBlocked',
  /** A rotation under way while the old CA, which still signs some leaf, nears its expiry. */
  caRotationOverdue: 'CARotationOverdue',
  secretNotOwned: 'SecretNotOwned',
  invalidTLSPolicy: 'InvalidTLSPolicy',
  certificateInvalid: 'CertificateInvalid',
  reconcileError: 'ReconcileError',
  /** The API server refused a write of the pass (invalid, forbidden, conflict beyond retries). */
  kubernetesRefused: 'KubernetesRefused',
  /** etcd refused a change beyond the normal waits. */
  etcdRefused: 'EtcdRefused',
  /** spec.storage.size grew but a claim's StorageClass cannot expand volumes: nothing is changed. */
  storageClassCannotExpand: 'StorageClassCannotExpand',
  /** A learner missed its deadline (Progressing while it is removed; Degraded until an add succeeds). */
  learnerTimedOut: 'LearnerTimedOut',
  /** spec.restore stopped: the snapshot is missing, corrupt, too new, or a volume is in the way; nothing started. */
  restoreFailed: 'RestoreFailed',
  /** A restore pod cannot start (a Secret it reads is missing, its image cannot be pulled): it goes on once that is fixed. */
  restoreBlocked: 'RestoreBlocked',
  /** spec.recovery cannot be acted on (another cluster's UID, no such survivor, ...): nothing was done. */
  recoveryRefused: 'RecoveryRefused',
  /** A consented recovery stopped and needs a person (its --force-new-cluster pod failed, its volume is gone). */
  recoveryFailed: 'RecoveryFailed',
  /** spec.backup.schedule has a field out of range, or names only dates that never come (Feb 30). */
  backupScheduleInvalid: 'BackupScheduleInvalid',
  backupScheduleNeverFires: 'BackupScheduleNeverFires',
  /** etcd raised the NOSPACE alarm: writes are refused until space is back under the quota. */
  noSpace: 'NoSpace',
  // Degraded (and Progressing or Available) while the operator waits for the user's decision
  retainedVolume: 'RetainedVolume',
  volumesPredateCluster: 'VolumesPredateCluster',
  clusterIdMismatch: 'ClusterIDMismatch',
  /** Members' HashKV disagree at one revision, or etcd raised CORRUPT: every automatic change stops. */
  dataInconsistent: 'DataInconsistent',
  healthy: 'Healthy',
} as const;

export type ConditionReason = (typeof conditionReasons)[keyof typeof conditionReasons];

export const conditionStatuses = { true: 'True', false: 'False', unknown: 'Unknown' } as const;

export type ConditionStatus = (typeof conditionStatuses)[keyof typeof conditionStatuses];
