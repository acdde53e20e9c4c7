import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { EtcdClusterSpecInput } from '../../src/api/defaults.js';
import { crdName } from '../../src/api/group.js';
import { defaultEtcdVersion } from '../../src/api/schema-spec.js';
import type { EtcdClusterStatus } from '../../src/api/types.generated.js';
import { isAllowedVersionChange } from '../../src/api/version.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';

// Every bad manifest is refused by the API server itself (OpenAPI and CEL rules in the CRD),
// through the real kubectl, with a message that says what to do. Assertions are on that text.

interface Rejected {
  what: string;
  spec: object;
  says: string;
  name?: string;
}

const quorum = 'replicas must be one of 1, 3, 5, 7, 9: etcd needs a majority of members (a quorum) to work';

const rejectedOnCreate: Rejected[] = [
  { what: 'an even member count', spec: { replicas: 4 }, says: quorum },
  { what: 'more than 9 members', spec: { replicas: 11 }, says: quorum },
  { what: 'zero members', spec: { replicas: 0 }, says: quorum },
  { what: 'a version that is not one', spec: { version: 'latest' }, says: 'version latest is not an etcd release: write MAJOR.MINOR.PATCH without a leading v, such as 3.6.16.' },
  { what: 'a version with a leading v', spec: { version: 'v3.6.16' }, says: 'version v3.6.16 is not an etcd release' },
  { what: 'an unsupported etcd release', spec: { version: '3.4.30' }, says: 'etcd 3.4.30 is not supported: use 3.5 or a later 3.x release, such as 3.6.16.' },
  { what: 'a malformed storage size', spec: { storage: { size: 'lots' } }, says: 'storage.size lots is not a quantity: write a size such as 8Gi, 20Gi or 512Mi.' },
  { what: 'a zero storage size', spec: { storage: { size: '0' } }, says: 'storage.size must be greater than zero: write a size such as 8Gi.' },
  { what: 'an unknown storage type', spec: { storage: { type: 'Disk' } }, says: 'Unsupported value: "Disk": supported values: "PersistentVolumeClaim", "EmptyDir"' },
  {
    what: 'a storage class with EmptyDir',
    spec: { storage: { type: 'EmptyDir', storageClassName: 'fast' } },
    says: 'storage.storageClassName only applies to storage.type PersistentVolumeClaim: remove it, or set type to PersistentVolumeClaim.',
  },
  { what: 'a malformed resource quantity', spec: { resources: { requests: { cpu: 'lots' } } }, says: 'must be a non-negative Kubernetes quantity, such as 500m, 2 or 1Gi' },
  {
    what: 'the data-dir flag',
    spec: { options: { 'data-dir': '/tmp' } },
    says: 'options may not set name, data-dir or wal-dir: the operator names each member after its pod and keeps its data on the member volume. Remove them from spec.options.',
  },
  { what: 'a listen URL flag', spec: { options: { 'listen-client-urls': 'http://0.0.0.0:2379' } }, says: 'options may not set advertise-client-urls or listen-*: the operator derives every URL' },
  { what: 'a peer TLS flag', spec: { options: { 'peer-cert-file': '/x' } }, says: 'or peer-*: the operator issues the certificates and configures TLS from spec.tls.' },
  { what: 'a bootstrap flag', spec: { options: { 'initial-cluster-state': 'existing' } }, says: 'the operator bootstraps the cluster and changes its membership itself' },
  { what: 'the v2 API', spec: { options: { 'enable-v2': 'true' } }, says: 'options may not set enable-v2 or config-file: the operator serves only the v3 API' },
  { what: 'the JSON gateway off', spec: { options: { 'enable-grpc-gateway': 'false' } }, says: "options may not set enable-grpc-gateway: the operator reads members' lists and versions over etcd's JSON gateway" },
  { what: 'a flag written with dashes', spec: { options: { '--snapshot-count': '10000' } }, says: 'options keys are etcd flag names in lowercase without leading dashes' },
  {
    what: 'renewBefore not shorter than validity',
    spec: { tls: { certificateValidity: '24h', renewBefore: '48h' } },
    says: 'tls.renewBefore (48h) must be shorter than tls.certificateValidity (24h), or certificates are due for renewal as soon as they are issued.',
  },
  {
    what: 'a CA validity under twice renewBefore',
    spec: { tls: { certificateValidity: '2m', renewBefore: '90s', caValidity: '179s' } },
    says: 'tls.caValidity (179s) must be at least twice tls.renewBefore (90s): the operator rotates its CA renewBefore ahead of expiry',
  },
  { what: 'a CA validity under 2m', spec: { tls: { certificateValidity: '40s', renewBefore: '30s', caValidity: '90s' } }, says: '90s is not a duration of at least 2m' },
  { what: 'a malformed duration', spec: { tls: { certificateValidity: '1year' } }, says: '1year is not a positive duration: write hours, minutes or seconds, such as 8760h, 720h or 90m.' },
  { what: 'TLS off', spec: { tls: { enabled: false } }, says: 'tls.enabled: false is not supported: this operator runs etcd with mutual TLS on every path' },
  { what: 'a CA without TLS', spec: { tls: { enabled: false, caSecretRef: { name: 'my-ca' } } }, says: 'tls.caSecretRef needs tls.enabled: true. Remove caSecretRef, or enable TLS.' },
  { what: 'a malformed CA secret name', spec: { tls: { caSecretRef: { name: 'My_CA' } } }, says: 'tls.caSecretRef.name My_CA is not a Secret name' },
  {
    what: 'a pod label the operator selects on',
    spec: { podTemplate: { metadata: { labels: { 'app.kubernetes.io/instance': 'other' } } } },
    says: 'the operator sets them to find member pods. Use other label keys.',
  },
  { what: 'an unknown toleration operator', spec: { podTemplate: { tolerations: [{ operator: 'Maybe' }] } }, says: 'Unsupported value: "Maybe": supported values: "Exists", "Equal"' },
  { what: 'a name too long for its Services', name: 'a'.repeat(53), spec: {}, says: 'metadata.name must be at most 52 characters' },
];

interface Change {
  what: string;
  from: EtcdClusterSpecInput;
  /** Status the operator would have reported before the change. */
  status?: Partial<EtcdClusterStatus>;
  to: EtcdClusterSpecInput;
  /** Expected message, or undefined when the change is allowed. */
  says?: string;
}

const pvc = (storage: EtcdClusterSpecInput['storage']): EtcdClusterSpecInput => ({ storage: { size: '10Gi', storageClassName: 'fast', ...storage } });

const changes: Change[] = [
  {
    what: 'a downgrade to a 3.5 release that cannot upgrade again',
    from: { version: '3.6.16' },
    to: { version: '3.5.19' },
    says: 'spec.version cannot go from 3.6.16 to 3.5.19: etcd goes back one minor release at a time through its downgrade API, and only from 3.6 to 3.5.20 or a later 3.5 release (earlier patch releases cannot upgrade again). Keep 3.6.16 or choose an allowed release',
  },
  { what: 'a downgrade by two minors', from: { version: '3.7.0' }, to: { version: '3.5.35' }, says: 'spec.version cannot go from 3.7.0 to 3.5.35: etcd goes back one minor release at a time' },
  { what: 'a downgrade from 3.7 (no path yet)', from: { version: '3.7.0' }, to: { version: '3.6.16' }, says: 'spec.version cannot go from 3.7.0 to 3.6.16: etcd goes back one minor release at a time' },
  {
    what: 'an upgrade to 3.6 from 3.5 before 3.5.20',
    from: { version: '3.5.19' },
    to: { version: '3.6.16' },
    says: 'spec.version cannot go from 3.5.19 to 3.6.16: etcd 3.5 releases before 3.5.20 can fail to upgrade to 3.6 with "too many learner members in cluster" (etcd issue 19557). Upgrade to 3.5.20 or a later 3.5 release first, then to 3.6.16.',
  },
  {
    what: 'an upgrade to 3.6 while members still run 3.5.3',
    from: { version: '3.5.35' },
    status: { currentVersion: '3.5.3' },
    to: { version: '3.6.16' },
    says: 'spec.version cannot go from 3.5.3 to 3.6.16: etcd 3.5 releases before 3.5.20',
  },
  { what: 'an upgrade skipping a minor', from: { version: '3.5.35' }, to: { version: '3.7.0' }, says: 'spec.version cannot jump from 3.5.35 to 3.7.0: etcd upgrades one minor release at a time.' },
  {
    what: 'an upgrade skipping the minor the members still run',
    from: { version: '3.6.16' },
    status: { currentVersion: '3.5.35' },
    to: { version: '3.7.0' },
    says: 'spec.version cannot jump from 3.5.35 to 3.7.0',
  },
  { what: 'a storage class change', from: pvc({}), to: pvc({ storageClassName: 'slow' }), says: 'storage.storageClassName cannot change on a live cluster: existing volumes keep their class.' },
  { what: 'a storage class removal', from: pvc({}), to: { storage: { size: '10Gi' } }, says: 'storage.storageClassName cannot change on a live cluster' },
  { what: 'a storage size shrink', from: pvc({}), to: pvc({ size: '5Gi' }), says: 'storage.size cannot shrink from 10Gi to 5Gi: a PersistentVolumeClaim cannot be made smaller. Keep 10Gi or a larger size.' },
  { what: 'a storage type change', from: {}, to: { storage: { type: 'EmptyDir' } }, says: 'storage.type cannot change from PersistentVolumeClaim to EmptyDir on a live cluster' },
  { what: 'turning TLS off', from: {}, to: { tls: { enabled: false } }, says: 'tls.enabled cannot be turned off: members and clients of this cluster already rely on TLS. Set it back to true' },
  { what: 'a CA secret change', from: { tls: { caSecretRef: { name: 'ca-a' } } }, to: { tls: { caSecretRef: { name: 'ca-b' } } }, says: 'tls.caSecretRef cannot be added, removed or changed on a live cluster' },
  { what: 'a CA secret added later', from: {}, to: { tls: { caSecretRef: { name: 'ca-b' } } }, says: 'tls.caSecretRef cannot be added, removed or changed on a live cluster' },
  { what: 'an even count on update', from: {}, to: { replicas: 2 }, says: quorum },
  // Allowed changes, so the rules are shown not to refuse too much.
  { what: 'a one-minor upgrade', from: { version: '3.5.35' }, to: { version: '3.6.16' } },
  { what: 'a one-minor upgrade from 3.5.20', from: { version: '3.5.20' }, to: { version: '3.6.0' } },
  { what: 'a patch upgrade of an old 3.5', from: { version: '3.5.3' }, to: { version: '3.5.20' } },
  { what: 'a patch downgrade', from: { version: '3.6.16' }, to: { version: '3.6.15' } },
  { what: 'a minor downgrade through etcd\'s downgrade API', from: { version: '3.6.16' }, to: { version: '3.5.35' } },
  { what: 'returning to the version members still run', from: { version: '3.6.16' }, status: { currentVersion: '3.5.35' }, to: { version: '3.5.35' } },
  { what: 'a storage size increase', from: pvc({}), to: pvc({ size: '20Gi' }) },
  { what: 'scaling, pausing and new options', from: {}, to: { replicas: 5, paused: true, options: { 'snapshot-count': '10000' } } },
];

describe('EtcdCluster validation', () => {
  let cp: ControlPlane;
  const ns = 'api-validation';
  const apply = (name: string, spec: object) =>
    cp.kubectl([`--namespace=${ns}`, 'apply', '-f', '-'], { input: stringify({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name }, spec }) });

  beforeAll(async () => {
    cp = await startControlPlane('api-validation');
    expect((await cp.kubectl(['create', 'namespace', ns])).code).toBe(0);
    expect((await cp.kubectl(['apply', '-f', `${repoRoot}/crds`])).code).toBe(0);
    await cp.waitForCrd(crdName);
  });
  afterAll(async () => cp?.stop());

  it.each(rejectedOnCreate.map((c, i) => ({ ...c, name: c.name ?? `bad-${i}` })))('refuses $what', async ({ name, spec, says }) => {
    const result = await apply(name, spec);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(says);
    expect(result.stderr).toContain(`The EtcdCluster "${name}" is invalid`);
  });

  it.each(changes.map((c, i) => ({ ...c, name: `change-${i}` })))('on update, judges $what', async ({ name, from, status, to, says }) => {
    const created = await apply(name, from);
    expect(created.code, created.stderr).toBe(0);
    if (status) {
      const patch = ['patch', 'etcdcluster', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })];
      expect((await cp.kubectl([`--namespace=${ns}`, ...patch])).code).toBe(0);
    }
    const changed = await apply(name, to);
    if (says === undefined) {
      expect(changed.stderr).toBe('');
      expect(changed.stdout).toContain('configured');
    } else {
      expect(changed.code).not.toBe(0);
      expect(changed.stderr).toContain(says);
    }
  });

  // The controller judges versions with version.ts; it must agree with the CRD's CEL rules.
  it.each(changes.filter((c) => c.to.version !== undefined))('version.ts agrees with the API server on $what', ({ from, status, to, says }) => {
    const running = status?.currentVersion ?? from.version ?? defaultEtcdVersion;
    expect(isAllowedVersionChange(running, to.version!)).toBe(says === undefined);
  });
});
