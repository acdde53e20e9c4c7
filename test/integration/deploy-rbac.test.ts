import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue } from '../../src/pki/x509.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, runKubectl, startControlPlane } from '../harness/control-plane.js';
import { installForLocalOperator } from '../harness/install.js';
import { waitFor } from '../harness/wait.js';
import { type OperatorProcess, startOperator } from '../harness/operator.js';

const watched = 'etcd-demo';
const other = 'elsewhere';

// Namespace mode with the operator authenticating as its ServiceAccount (a bound token, not the
// admin certificate): the real operator process creates a cluster's children, reads a user CA,
// patches status and records Events with only the overlay's Roles; outside them it is refused.
// OwnerReferencesPermissionEnforcement is on, as in clusters that enforce blockOwnerDeletion.
describe('deploy/overlays/namespaced RBAC', () => {
  let cp: ControlPlane;
  let kubeconfig: string;
  let operator: OperatorProcess;
  const can = async (...args: string[]) => (await runKubectl(kubeconfig, ['auth', 'can-i', ...args])).stdout.trim();

  beforeAll(async () => {
    cp = await startControlPlane('deploy-rbac', { extraApiServerArgs: ['--enable-admission-plugins=OwnerReferencesPermissionEnforcement'] });
    const install = await installForLocalOperator(cp, 'namespaced');
    kubeconfig = install.kubeconfig;
    expect(install.args).toContain(`--namespaces=${watched}`);
    expect(install.args).toContain('--leader-election-namespace=etcd-operator-system');
    await cp.kubectl(['create', 'namespace', other]);
    await cp.kubectl(['create', 'secret', 'generic', 'not-yours', '-n', other, '--from-literal=password=hunter2']);
    operator = await startOperator('operator-sa', cp.dir, kubeconfig, ['--log-level=debug', ...install.args]);
  });
  afterAll(async () => {
    await operator?.process.stop();
    await cp?.stop();
  });

  it('becomes ready (every informer listed in the watched namespace) and takes the Lease', async () => {
    await waitFor('operator ready', async () => (await fetch(`${operator.healthUrl}/readyz`)).status === 200, { process: operator.process });
    const holder = await waitFor('lease holder', async () => {
      const res = await cp.kubectl(['get', 'lease', 'etcd-operator-leader', '-n', 'etcd-operator-system', '-o', 'jsonpath={.spec.holderIdentity}']);
      return res.stdout || undefined;
    }, { process: operator.process });
    expect(holder).toBeTruthy();
  });

  it('creates every child of the sample, patches its status and records Events, with no request refused', async () => {
    const sample = readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8');
    const apply = await cp.kubectl(['apply', '-n', watched, '-f', '-'], { input: sample });
    expect(apply.code, apply.stderr).toBe(0);
    const kinds = 'statefulset,service,secret,configmap,poddisruptionbudget';
    const children = await waitFor('children of example', async () => {
      const res = await cp.kubectl(['get', kinds, '-n', watched, '-l', 'app.kubernetes.io/instance=example', '-o', 'jsonpath={range .items[*]}{.kind}{"\\n"}{end}']);
      const found = new Set(res.stdout.split('\n').filter(Boolean));
      return found.size === 5 ? found : undefined;
    }, { process: operator.process, timeoutMs: 90_000 });
    expect([...children].sort()).toEqual(['ConfigMap', 'PodDisruptionBudget', 'Secret', 'Service', 'StatefulSet']);
    await waitFor('status conditions', async () => {
      const res = await cp.kubectl(['get', 'etcdcluster', 'example', '-n', watched, '-o', 'jsonpath={.status.conditions[*].type}']);
      return res.stdout || undefined;
    }, { process: operator.process });
    await waitFor('an Event from the operator', async () => {
      const res = await cp.kubectl(['get', 'events', '-n', watched, '--field-selector=involvedObject.kind=EtcdCluster', '-o', 'jsonpath={.items[*].source.component}']);
      return res.stdout.includes('etcd-operator');
    }, { process: operator.process });
    expect(readFileSync(operator.process.logPath, 'utf8')).not.toMatch(/forbidden|"statusCode":403/i);
  });

  it("reads a user CA from the Secret spec.tls.caSecretRef names (a live get, not the informer's)", async () => {
    const now = Date.now();
    const ca = await issue({ commonName: 'team CA', isCA: true, notBefore: new Date(now - 60_000), notAfter: new Date(now + 365 * 86_400_000), serialHex: '01' });
    const secret = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'team-ca', namespace: watched }, stringData: { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem } };
    const cluster = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'byo-ca', namespace: watched }, spec: { replicas: 1, tls: { caSecretRef: { name: 'team-ca' } } } };
    const apply = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [secret, cluster] }) });
    expect(apply.code, apply.stderr).toBe(0);
    const issuer = await waitFor('server certificate issued by the team CA', async () => {
      const res = await cp.kubectl(['get', 'secret', 'byo-ca-server-tls', '-n', watched, '-o', 'jsonpath={.data.ca\\.crt}']);
      return res.stdout ? Buffer.from(res.stdout, 'base64').toString() : undefined;
    }, { process: operator.process, timeoutMs: 90_000 });
    expect(issuer.trim()).toBe(ca.certPem.trim());
  });

  it('may do what the reconciler needs in the watched namespace', async () => {
    const allowed: string[][] = [
      ['list', 'etcdclusters.etcd.operator.dev'], ['watch', 'etcdclusters.etcd.operator.dev'],
      ['patch', 'etcdclusters.etcd.operator.dev', '--subresource=status'],
      ['update', 'etcdclusters.etcd.operator.dev', '--subresource=finalizers'],
      ...['statefulsets.apps', 'services', 'configmaps', 'secrets', 'poddisruptionbudgets.policy'].flatMap((r) => ['list', 'watch', 'create', 'patch'].map((v) => [v, r])),
      ['get', 'secrets'], ['delete', 'pods'], ['delete', 'persistentvolumeclaims'], ['create', 'events'],
      // Volume growth: a larger claim, and the StatefulSet deleted (orphaning its pods) to recreate it.
      ['patch', 'persistentvolumeclaims'], ['delete', 'statefulsets.apps'],
      // spec.restore: the member claims and one restore pod each (applied), and the EtcdBackup it names.
      ['create', 'persistentvolumeclaims'], ['create', 'pods'], ['patch', 'pods'], ['get', 'etcdbackups.etcd.operator.dev'],
    ];
    for (const check of allowed) expect(await can(...check, '-n', watched), check.join(' ')).toBe('yes');
  });

  it('is refused outside the watched namespace, on cluster-scoped objects and on writes it never makes', async () => {
    const refused: string[][] = [
      ['get', 'secrets', '-n', other], ['list', 'secrets', '-n', other], ['list', 'etcdclusters.etcd.operator.dev', '-n', other],
      ['list', 'etcdclusters.etcd.operator.dev', '--all-namespaces'], ['create', 'statefulsets.apps', '-n', other],
      ['list', 'nodes'], ['get', 'nodes'], ['list', 'namespaces'], ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['list', 'customresourcedefinitions.apiextensions.k8s.io'], ['*', '*', '-n', watched],
      ['update', 'secrets', '-n', watched], ['delete', 'secrets', '-n', watched], ['get', 'storageclasses.storage.k8s.io'],
      ['delete', 'etcdclusters.etcd.operator.dev', '-n', watched], ['update', 'etcdclusters.etcd.operator.dev', '-n', watched],
      ['create', 'pods', '--subresource=exec', '-n', watched], ['create', 'pods', '-n', other], ['create', 'roles.rbac.authorization.k8s.io', '-n', watched],
      ['get', 'leases.coordination.k8s.io/someone-elses', '-n', 'etcd-operator-system'],
      ['update', 'leases.coordination.k8s.io/someone-elses', '-n', 'etcd-operator-system'],
    ];
    for (const check of refused) expect(await can(...check), check.join(' ')).toBe('no');
    // A real request with the token, not only the authorizer's opinion.
    const read = await runKubectl(kubeconfig, ['get', 'secret', 'not-yours', '-n', other]);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toContain('is forbidden: User "system:serviceaccount:etcd-operator-system:etcd-operator" cannot get resource "secrets"');
  });

  it('holds no wildcard resource rule in the watched namespace', async () => {
    // What `kubectl auth can-i --list` prints, as data: a SelfSubjectRulesReview sent with the token
    // (--validate=false: client-side validation would list CRDs, which the operator may not).
    const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: watched } };
    const res = await runKubectl(kubeconfig, ['create', '--validate=false', '-o', 'json', '-f', '-'], JSON.stringify(review));
    expect(res.code, res.stderr).toBe(0);
    const rules = (JSON.parse(res.stdout) as { status: { resourceRules: { verbs: string[]; resources?: string[]; apiGroups?: string[] }[] } }).status.resourceRules;
    expect(rules.some((r) => r.resources?.includes('etcdclusters'))).toBe(true);
    for (const rule of rules) expect([...rule.verbs, ...(rule.resources ?? []), ...(rule.apiGroups ?? [])], JSON.stringify(rule)).not.toContain('*');
  });
});
