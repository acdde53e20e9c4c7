/**
 * The schema of EtcdCluster.spec: the one source the CRD and the TypeScript types are generated
 * from. Rules that compare a field with its previous value (oldSelf) only run on update.
 * Every message says what is wrong and what to do instead.
 */
import { labelKeys, maxMembers } from '../resources/names.js';
import { type OwnedFlagGroup, describeGroup, flagNamePattern, ownedFlagGroups } from './options.js';
import { type Schema, type ValidationRule, array, boolean, celList, defaultedObject, enumOf, int32, object, string, stringMap } from './schema-builders.js';
import { affinity, resourceRequirements, toleration, topologySpreadConstraint } from './schema-core.js';
import { compression, destination } from './schema-destination.js';
import { maintenance } from './schema-maintenance.js';
import { recoveryConsent } from './schema-recovery.js';
import { minimumSupportedMinor, supportedMajor } from './version.js';

/** The etcd release new clusters run; hack/versions.env pins the same one for the tests. */
export const defaultEtcdVersion = '3.6.16';

const oddCounts = Array.from({ length: (maxMembers + 1) / 2 }, (_, i) => 2 * i + 1);

const replicas = int32('Number of etcd members: 1, 3, 5, 7 or 9. Also set through the scale subresource.', {
  default: 3,
  'x-kubernetes-validations': [
    {
      rule: `self in [${oddCounts.join(', ')}]`,
      message: `replicas must be one of ${oddCounts.join(', ')}: etcd needs a majority of members (a quorum) to work, and an even count tolerates no more failures than the odd count below it. Choose an odd number up to ${maxMembers}.`,
    },
  ],
});

const version = string(`etcd release to run, MAJOR.MINOR.PATCH without a leading v. Upgrades go one minor release at a time (3.5 before 3.5.20 goes to 3.5.20 or later first, etcd issue 19557); a downgrade goes one minor down through etcd's downgrade API (3.6 to 3.5.20 or later).`, 64, {
  default: defaultEtcdVersion,
  'x-kubernetes-validations': [
    {
      rule: "isSemver(self) && !self.contains('+')",
      messageExpression: `'version ' + self + ' is not an etcd release: write MAJOR.MINOR.PATCH without a leading v, such as ${defaultEtcdVersion}.'`,
    },
    {
      rule: `!isSemver(self) || semver(self).major() == ${supportedMajor} && semver(self).minor() >= ${minimumSupportedMinor}`,
      messageExpression: `'etcd ' + self + ' is not supported: use ${supportedMajor}.${minimumSupportedMinor} or a later ${supportedMajor}.x release, such as ${defaultEtcdVersion}.'`,
    },
  ],
});

const pvc = "self.type == 'PersistentVolumeClaim'";

const storage = defaultedObject(
  'Where members keep their data.',
  {
    type: enumOf('PersistentVolumeClaim (one volume per member, the default) or EmptyDir (data lost with the pod; for development only).', ['PersistentVolumeClaim', 'EmptyDir'], {
      default: 'PersistentVolumeClaim',
      'x-kubernetes-validations': [
        {
          rule: 'self == oldSelf',
          messageExpression: "'storage.type cannot change from ' + oldSelf + ' to ' + self + ' on a live cluster: members would lose or strand their data. Set it back to ' + oldSelf + '; to change it, create a new EtcdCluster and restore a snapshot into it.'",
        },
      ],
    }),
    size: string('Volume size per member (the emptyDir size limit for EmptyDir), as a quantity such as 8Gi. May grow, never shrink.', 64, {
      default: '8Gi',
      'x-kubernetes-validations': [
        { rule: 'isQuantity(self)', messageExpression: "'storage.size ' + self + ' is not a quantity: write a size such as 8Gi, 20Gi or 512Mi.'" },
        { rule: "!isQuantity(self) || quantity(self).isGreaterThan(quantity('0'))", message: 'storage.size must be greater than zero: write a size such as 8Gi.' },
      ],
    }),
    storageClassName: string('StorageClass of the volumes; the cluster default when unset. Fixed once the cluster exists.', 253),
    retentionPolicy: enumOf('What happens to a member volume when the cluster is deleted or scaled down: Retain (keep it, the default) or Delete.', ['Retain', 'Delete'], {
      default: 'Retain',
    }),
  },
  {
    title: 'EtcdClusterStorage',
    'x-kubernetes-validations': [
      {
        rule: `${pvc} || !has(self.storageClassName)`,
        fieldPath: '.storageClassName',
        message: 'storage.storageClassName only applies to storage.type PersistentVolumeClaim: remove it, or set type to PersistentVolumeClaim.',
      },
      {
        rule: 'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
        fieldPath: '.storageClassName',
        message: 'storage.storageClassName cannot change on a live cluster: existing volumes keep their class. Restore the previous value; to move to another class, create a new EtcdCluster and restore a snapshot into it.',
      },
      {
        rule: `!(${pvc}) || !isQuantity(self.size) || !isQuantity(oldSelf.size) || quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0`,
        fieldPath: '.size',
        messageExpression: "'storage.size cannot shrink from ' + oldSelf.size + ' to ' + self.size + ': a PersistentVolumeClaim cannot be made smaller. Keep ' + oldSelf.size + ' or a larger size.'",
      },
    ],
  },
);

const duration = (description: string, defaultValue: string): Schema =>
  string(description, 32, {
    default: defaultValue,
    'x-kubernetes-validations': [
      {
        rule: "self.matches('^([0-9]+(\\\\.[0-9]+)?(h|m|s|ms))+$') && duration(self) > duration('0s')",
        messageExpression: "self + ' is not a positive duration: write hours, minutes or seconds, such as 8760h, 720h or 90m.'",
      },
    ],
  });

const validDurations = "self.certificateValidity.matches('^([0-9]+(\\\\.[0-9]+)?(h|m|s|ms))+$') && self.renewBefore.matches('^([0-9]+(\\\\.[0-9]+)?(h|m|s|ms))+$')";

const validCaValidity = "self.caValidity.matches('^([0-9]+(\\\\.[0-9]+)?(h|m|s|ms))+$')";

const tls = defaultedObject(
  'Mutual TLS for clients and peers, on by default with a CA the operator creates.',
  {
    enabled: boolean('Serve clients and peers over mutual TLS. Fixed once the cluster exists.', { default: true }),
    caSecretRef: object(
      'A Secret in this namespace holding the CA to issue member and client certificates from (tls.crt and tls.key). The operator creates its own CA when unset. Fixed once the cluster exists.',
      {
        name: string('Name of the Secret.', 253, {
          'x-kubernetes-validations': [
            {
              rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
              messageExpression: "'tls.caSecretRef.name ' + self + ' is not a Secret name: use lowercase letters, digits, - and .'",
            },
          ],
        }),
      },
      { title: 'SecretReference', required: ['name'] },
    ),
    certificateValidity: duration('Lifetime of the member and client certificates the operator issues.', '8760h'),
    renewBefore: duration('How long before expiry the operator renews a certificate. Must be shorter than certificateValidity.', '720h'),
    caValidity: string(
      'Lifetime of a CA the operator generates (not used with caSecretRef). Once its CA is within renewBefore of expiry, the operator rotates it with a trust overlap (three rolling restarts). A change applies to the next CA generated. At least 2m and twice renewBefore.',
      32,
      {
        default: '87600h',
        'x-kubernetes-validations': [
          {
            // Below a couple of minutes, three rolling restarts cannot fit in a CA's life.
            rule: "self.matches('^([0-9]+(\\\\.[0-9]+)?(h|m|s|ms))+$') && duration(self) >= duration('2m')",
            messageExpression: "self + ' is not a duration of at least 2m: write hours or minutes, such as 87600h or 10m.'",
          },
        ],
      },
    ),
  },
  {
    title: 'EtcdClusterTLS',
    'x-kubernetes-validations': [
      {
        // Members, probes and the operator's own client all speak mutual TLS; no plain-HTTP mode exists.
        rule: 'self.enabled',
        fieldPath: '.enabled',
        message: 'tls.enabled: false is not supported: this operator runs etcd with mutual TLS on every path and issues the certificates itself. Remove tls.enabled or set it to true.',
      },
      {
        rule: '!oldSelf.enabled || self.enabled',
        fieldPath: '.enabled',
        message: 'tls.enabled cannot be turned off: members and clients of this cluster already rely on TLS. Set it back to true; to run without TLS, create a new EtcdCluster.',
      },
      {
        rule: 'oldSelf.enabled || !self.enabled',
        fieldPath: '.enabled',
        message: 'tls.enabled cannot be turned on for a cluster created without TLS: its members advertise plain-HTTP peer URLs. Set it back to false, or create a new EtcdCluster with TLS and restore a snapshot into it.',
      },
      {
        rule: 'self.enabled || !has(self.caSecretRef)',
        fieldPath: '.caSecretRef',
        message: 'tls.caSecretRef needs tls.enabled: true. Remove caSecretRef, or enable TLS.',
      },
      {
        rule: 'has(self.caSecretRef) == has(oldSelf.caSecretRef) && (!has(self.caSecretRef) || self.caSecretRef.name == oldSelf.caSecretRef.name)',
        fieldPath: '.caSecretRef',
        message: 'tls.caSecretRef cannot be added, removed or changed on a live cluster: every member certificate chains to the CA the cluster started with. Restore the previous value; to use another CA, create a new EtcdCluster.',
      },
      {
        rule: `!(${validDurations}) || duration(self.renewBefore) < duration(self.certificateValidity)`,
        fieldPath: '.renewBefore',
        messageExpression:
          "'tls.renewBefore (' + self.renewBefore + ') must be shorter than tls.certificateValidity (' + self.certificateValidity + '), or certificates are due for renewal as soon as they are issued. Lower renewBefore or raise certificateValidity.'",
      },
      {
        // The rotation runs in the old CA's last renewBefore, and a new CA must then serve at least
        // as long before it is due in turn: less would rotate again as soon as a rotation ends.
        rule: `!(${validDurations} && ${validCaValidity}) || duration(self.caValidity) - duration(self.renewBefore) >= duration(self.renewBefore)`,
        fieldPath: '.caValidity',
        messageExpression:
          "'tls.caValidity (' + self.caValidity + ') must be at least twice tls.renewBefore (' + self.renewBefore + '): the operator rotates its CA renewBefore ahead of expiry, and a shorter CA would be rotated again as soon as a rotation ends. Raise caValidity or lower renewBefore.'",
      },
    ],
  },
);

const ownedFlagRule = (group: OwnedFlagGroup): ValidationRule => {
  const matches = [`k in ${celList(group.flags)}`, ...group.prefixes.map((p) => `k.startsWith('${p}')`)].join(' || ');
  return {
    rule: `!self.exists(k, ${matches})`,
    message: `options may not set ${describeGroup(group)}: the operator ${group.why}. Remove ${group.flags.length + group.prefixes.length > 1 ? 'them' : 'it'} from spec.options.`,
  };
};

const options = stringMap('Extra etcd flags, name (without --) to value, such as quota-backend-bytes: "8589934592". Flags the operator sets itself are refused.', 32, 1024, {
  'x-kubernetes-validations': [
    {
      rule: `self.all(k, k.matches('${flagNamePattern}'))`,
      message: 'options keys are etcd flag names in lowercase without leading dashes, such as quota-backend-bytes or auto-compaction-retention. Rename the offending keys.',
    },
    ...ownedFlagGroups.map(ownedFlagRule),
  ],
});

const ownedLabels = Object.values(labelKeys);

const podTemplate = object(
  'Scheduling and metadata for member pods.',
  {
    metadata: object(
      'Extra labels and annotations for member pods.',
      {
        labels: stringMap('Labels added to member pods.', 64, 63, {
          'x-kubernetes-validations': [
            {
              rule: `self.all(k, !(k in ${celList(ownedLabels)}))`,
              message: `podTemplate.metadata.labels may not set ${ownedLabels.join(', ')}: the operator sets them to find member pods. Use other label keys.`,
            },
          ],
        }),
        annotations: stringMap('Annotations added to member pods.', 64, 4096),
      },
      { title: 'PodTemplateMetadata' },
    ),
    nodeSelector: stringMap('Node labels a member pod requires.', 32, 63),
    tolerations: array('Taints member pods tolerate.', toleration, 32, { 'x-kubernetes-list-type': 'atomic' }),
    affinity,
    topologySpreadConstraints: array('How member pods spread across zones or nodes.', topologySpreadConstraint, 8, { 'x-kubernetes-list-type': 'atomic' }),
    priorityClassName: string('PriorityClass of member pods.', 253),
  },
  { title: 'EtcdClusterPodTemplate' },
);

// Five fields of *, values, ranges, lists and steps, each value within its field's range, or a
// macro. What a pattern cannot see (a range 30-10, February 30) the operator reports in Degraded.
const cronField = (value: string) => {
  const item = `([*]|(${value})(-(${value}))?)(/0*[1-9][0-9]*)?`;
  return `${item}(,${item})*`;
};
const cronValues = ['[0-5]?[0-9]', '[01]?[0-9]|2[0-3]', '0?[1-9]|[12][0-9]|3[01]', '0?[1-9]|1[0-2]', '0?[0-7]'];
export const cronPattern = `^(@(hourly|daily|midnight|weekly|monthly|yearly|annually)|${cronValues.map(cronField).join('[ \\t]+')})$`;

const backup = object(
  'Scheduled backups of this cluster: on the schedule the operator creates an EtcdBackup named <cluster>-<yyyymmddhhmm>, and deletes the oldest scheduled ones by the retention rules.',
  {
    schedule: string('When to back up, as a five-field cron schedule in UTC (minute hour day-of-month month day-of-week), such as 0 */6 * * *, or @hourly, @daily, @weekly.', 128, {
      'x-kubernetes-validations': [
        {
          rule: `self.matches('${cronPattern}')`,
          messageExpression: "'backup.schedule ' + self + ' is not a cron schedule: write five fields (minute hour day-of-month month day-of-week) such as 0 */6 * * *, or @daily.'",
        },
      ],
    }),
    suspend: boolean('Create no new scheduled backups while true; retention still applies.', { default: false }),
    destination,
    compression,
    retention: object(
      'Which scheduled backups to keep. Only backups this schedule created are deleted, each with the object it wrote; the newest successful one is always kept.',
      {
        keepLast: int32('Keep the newest this many successful (and failed) scheduled backups.', { minimum: 1 }),
        maxAge: string('Delete scheduled backups older than this, such as 168h.', 32, {
          'x-kubernetes-validations': [
            {
              rule: "self.matches('^([0-9]+(\\\\.[0-9]+)?(h|m|s|ms))+$') && duration(self) > duration('0s')",
              messageExpression: "'backup.retention.maxAge ' + self + ' is not a positive duration: write hours or minutes, such as 168h or 90m.'",
            },
          ],
        }),
      },
      { title: 'BackupRetention' },
    ),
  },
  { title: 'EtcdClusterBackup', required: ['schedule', 'destination'] },
);


// Restore (issue 15): a new cluster bootstrapped from a snapshot. Only valid at creation, and
// fixed afterwards: restoring into a live cluster would replace data a quorum acknowledged.
const sha256Hex = (description: string): Schema => string(description, 64, { pattern: '^[0-9a-f]{64}$' });

const restore = object(
  'Bootstrap this new cluster from a snapshot instead of empty: every member restores the same snapshot with etcdutl before etcd first starts. Set it only when creating the EtcdCluster; it cannot be added, changed or removed later (in-place restore of a live cluster is not supported).',
  {
    backupName: string('Name of a Succeeded EtcdBackup in this namespace: its recorded object key, destination, SHA-256 and etcd version are used.', 253),
    destination,
    key: string('Key of the snapshot object in destination.bucket (with destination, instead of backupName). An object ending in .gz, or uploaded with gzip by an EtcdBackup, is decompressed.', 1024, { minLength: 1 }),
    sha256: sha256Hex('Expected SHA-256 (lowercase hex) of the object as stored, with destination and key. The restore refuses an object that does not match; without it the object is only checked against its own trailing digest, if it has one.'),
  },
  {
    title: 'EtcdClusterRestore',
    'x-kubernetes-validations': [
      { rule: 'has(self.backupName) != has(self.destination)', message: 'restore names one source: set backupName (an EtcdBackup in this namespace), or destination and key, not both and not neither.' },
      { rule: 'has(self.destination) == has(self.key)', message: 'restore.destination and restore.key go together: the key names the snapshot object in the destination bucket.' },
      { rule: '!has(self.sha256) || has(self.key)', message: 'restore.sha256 applies to destination and key; an EtcdBackup already records the SHA-256 of its object. Remove sha256, or name the object with destination and key.' },
      {
        rule: 'self == oldSelf',
        message: 'spec.restore cannot change after the cluster is created: it only seeds new members. To restore another snapshot, create a new EtcdCluster with spec.restore.',
      },
    ],
  },
);

const restoreRules: ValidationRule[] = [
  {
    rule: 'has(self.restore) == has(oldSelf.restore)',
    message: 'spec.restore can only be set when the EtcdCluster is created, and stays as it was: in-place restore of a live cluster is not supported. Put it back as it was (or leave it out); to restore a snapshot, create a new EtcdCluster with spec.restore.',
  },
  {
    rule: "!has(self.restore) || self.storage.type == 'PersistentVolumeClaim'",
    fieldPath: '.restore',
    message: 'spec.restore needs storage.type PersistentVolumeClaim: the snapshot is restored onto each member\'s volume before etcd starts. Remove storage.type EmptyDir.',
  },
];

export const specSchema: Schema = defaultedObject(
  'Desired state of the etcd cluster.',
  {
    replicas,
    version,
    image: string('Container image to run instead of the default etcd image for version; it must be that etcd release.', 512, { minLength: 1 }),
    storage,
    resources: resourceRequirements,
    podTemplate,
    tls,
    options,
    paused: boolean('Stop reconciling this cluster (no membership, scaling or upgrade changes) until set back to false.', { default: false }),
    backup,
    restore,
    maintenance,
    recovery: recoveryConsent,
  },
  { title: 'EtcdClusterSpec', 'x-kubernetes-validations': restoreRules },
);
