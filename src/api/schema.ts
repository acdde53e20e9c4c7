/**
 * The whole EtcdCluster schema: the single source of the CRD (crds/) and of types.generated.ts,
 * both written by hack/api/generate.ts. Rules that need the running version (status) sit here at
 * the root, because a rule on spec cannot see status.
 */
import { maxMembers } from '../resources/names.js';
import { type Schema, type ValidationRule, object, string } from './schema-builders.js';
import { specSchema } from './schema-spec.js';
import { statusSchema } from './schema-status.js';
import { downgradableMinors, minimumPatchToLeaveMinor } from './version.js';

/**
 * The version a change is judged against: what the members run (status.currentVersion) when the
 * operator has reported it, else the previous spec. Going back to the running version therefore
 * stays possible while an upgrade has not finished.
 */
const running =
  'has(oldSelf.status) && has(oldSelf.status.currentVersion) && isSemver(oldSelf.status.currentVersion) ? oldSelf.status.currentVersion : oldSelf.spec.version';

/** `condition` may use FROM and TO, the running and the desired version as CEL semvers. */
const versionRule = (condition: string): string =>
  `self.spec.version == oldSelf.spec.version || !isSemver(self.spec.version) || !isSemver(oldSelf.spec.version) || ` +
  // CRD rules have no cel.bind, so the two versions are spelled out where they are used.
  `(${condition.replaceAll('FROM', `semver(${running})`).replaceAll('TO', 'semver(self.spec.version)')})`;

const fromTo = "' from ' + (" + running + ") + ' to ' + self.spec.version";

/** One rule per minor whose early patch releases must not leave it (version.ts). */
const patchFirstRules: ValidationRule[] = minimumPatchToLeaveMinor.map((r) => ({
  rule: versionRule(
    `!(FROM.major() == ${r.major} && FROM.minor() == ${r.minor} && FROM.patch() < ${r.patch} && (TO.major() > ${r.major} || TO.major() == ${r.major} && TO.minor() > ${r.minor}))`,
  ),
  fieldPath: '.spec.version',
  messageExpression:
    `'spec.version cannot go' + ${fromTo} + ': etcd ${r.major}.${r.minor} releases before ${r.major}.${r.minor}.${r.patch} ${r.why}. ` +
    `Upgrade to ${r.major}.${r.minor}.${r.patch} or a later ${r.major}.${r.minor} release first, then to ' + self.spec.version + '.'`,
}));

/** A downgrade etcd's downgrade API carries out (version.ts): one minor, to a patch that may upgrade again. */
const allowedDowngrade = downgradableMinors
  .map((d) => `FROM.major() == ${d.major} && TO.major() == ${d.major} && FROM.minor() == ${d.fromMinor} && TO.minor() == ${d.toMinor} && TO.patch() >= ${d.minimumPatch}`)
  .join(' || ');
const downgradeWords = downgradableMinors.map((d) => `${d.major}.${d.fromMinor} to ${d.major}.${d.toMinor}.${d.minimumPatch} or a later ${d.major}.${d.toMinor} release`).join(', ');

export const upgradeRules: ValidationRule[] = [
  {
    rule: versionRule(`TO.major() > FROM.major() || TO.major() == FROM.major() && TO.minor() >= FROM.minor() || ${allowedDowngrade}`),
    fieldPath: '.spec.version',
    messageExpression: `'spec.version cannot go' + ${fromTo} + ': etcd goes back one minor release at a time through its downgrade API, and only from ${downgradeWords} (earlier patch releases cannot upgrade again). Keep ' + (${running}) + ' or choose an allowed release; to go back further, restore a snapshot into a new EtcdCluster.'`,
  },
  {
    rule: versionRule('TO.major() < FROM.major() || TO.major() == FROM.major() && TO.minor() <= FROM.minor() + 1'),
    fieldPath: '.spec.version',
    messageExpression: `'spec.version cannot jump' + ${fromTo} + ': etcd upgrades one minor release at a time. Upgrade to the next minor release first, then to ' + self.spec.version + '.'`,
  },
  ...patchFirstRules,
];

/** Services are named `<name>-client`, pods `<name>-<ordinal>` with a revision-hash label. */
export const maxClusterNameLength = 52;

const nameRule: ValidationRule = {
  rule: `self.metadata.name.size() <= ${maxClusterNameLength} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')`,
  message: `metadata.name must be at most ${maxClusterNameLength} characters of lowercase letters, digits and '-', starting with a letter, because it names the cluster's Services and pods. Choose a shorter or simpler name.`,
};

export const etcdClusterSchema: Schema = object(
  `An etcd cluster of 1 to ${maxMembers} members with mutual TLS, managed by etcd-operator.`,
  {
    apiVersion: string('Versioned schema of this object.', 64),
    kind: string('Kind of this object.', 64),
    metadata: { type: 'object' },
    spec: specSchema,
    status: statusSchema,
  },
  { title: 'EtcdCluster', required: ['spec'], 'x-kubernetes-validations': [nameRule, ...upgradeRules] },
);
