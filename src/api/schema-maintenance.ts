/**
 * spec.maintenance: the automatic upkeep of a running cluster (src/upkeep). Defragmentation is
 * driven by how much of a member's database file is free, not by a clock; the consistency check
 * compares every member's HashKV at one revision every `interval`.
 */
import { type Schema, boolean, defaultedObject, int32, string } from './schema-builders.js';

const quantityRules = [
  { rule: 'isQuantity(self)', messageExpression: "'maintenance.defrag.minFragmentedBytes ' + self + ' is not a quantity: write a size such as 100Mi or 1Gi.'" },
];

const defrag = defaultedObject(
  "Defragment a member when its database file holds at least minFragmentedBytes AND minFragmentedPercent percent of free pages (etcd's dbSize minus dbSizeInUse). One member at a time, followers first, the leader last after leadership moved away; never during a membership or version change or while a member is unhealthy.",
  {
    enabled: boolean('Defragment automatically. The NOSPACE recovery defragments even when this is false.', { default: true }),
    minFragmentedBytes: string('Free bytes in the database file below which a member is not defragmented, as a quantity such as 100Mi.', 64, {
      default: '100Mi',
      'x-kubernetes-validations': quantityRules,
    }),
    minFragmentedPercent: int32('Free share of the database file, in percent, below which a member is not defragmented.', { default: 50, minimum: 1, maximum: 100 }),
  },
  { title: 'EtcdClusterDefrag' },
);

const consistencyCheck = defaultedObject(
  'Compare the HashKV of every member at one revision. A mismatch makes the cluster Degraded (DataInconsistent) and stops every automatic change; nothing is repaired automatically.',
  {
    enabled: boolean('Run the check.', { default: true }),
    interval: string('Time between checks, such as 5m. Each check hashes every key on every member.', 32, {
      default: '5m',
      'x-kubernetes-validations': [
        {
          rule: "self.matches('^([0-9]+(\\\\.[0-9]+)?(h|m|s))+$') && duration(self) >= duration('30s')",
          messageExpression: "'maintenance.consistencyCheck.interval ' + self + ' is not a duration of at least 30s: write minutes or hours, such as 5m or 1h.'",
        },
      ],
    }),
  },
  { title: 'EtcdClusterConsistencyCheck' },
);

export const maintenance: Schema = defaultedObject('Automatic upkeep: defragmentation, the NOSPACE alarm, and the consistency check between members.', { defrag, consistencyCheck }, { title: 'EtcdClusterMaintenance' });
