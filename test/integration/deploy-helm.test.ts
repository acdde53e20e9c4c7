import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject, V1Deployment, V1Role } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { pinnedHelmVersion, runHelm } from '../harness/helm.js';
import { renderOverlay } from '../harness/install.js';
import { waitFor } from '../harness/wait.js';

const chart = join(repoRoot, 'charts', 'etcd-operator');
const ns = 'etcd-operator-system';

function docs(text: string): KubernetesObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubernetesObject).filter(Boolean);
}

function find<T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name?: string): T {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''}`);
  return found as T;
}

// The chart renders what deploy/ installs (same rules, same pod), lints clean, and installs for
// real: its CRD, its RBAC, and a Deployment whose pods the restricted namespace admits.
describe('Helm chart charts/etcd-operator', () => {
  let cp: ControlPlane;
  let home: string;
  let kustomized: KubernetesObject[];
  const helm = (...args: string[]) => runHelm(args, home, cp.kubeconfigPath);
  const template = async (...args: string[]) => {
    const res = await helm('template', 'etcd-operator', chart, '-n', ns, ...args);
    expect(res.code, res.stderr).toBe(0);
    return docs(res.stdout);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'etcd-operator-helm-'));
    cp = await startControlPlane('deploy-helm');
    kustomized = await renderOverlay(cp, 'cluster-wide');
  });
  afterAll(async () => {
    await cp?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('runs the pinned helm', async () => {
    const res = await helm('version', '--template', '{{ .Version }}');
    expect(res.stdout).toBe(pinnedHelmVersion());
  });

  it.each([[[]], [['--set', 'watchNamespaces={team-a,team-b}', '--set', 'metrics.serviceMonitor.enabled=true']]])('lints clean with %j', async (args) => {
    const res = await helm('lint', chart, '--strict', ...args);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('0 chart(s) failed');
  });

  it('ships the CRDs of crds/', async () => {
    const res = await helm('show', 'crds', chart);
    const shown = parseAllDocuments(res.stdout).map((d) => d.toJS() as unknown).filter(Boolean);
    const files = ['etcd.operator.dev_etcdbackups.yaml', 'etcd.operator.dev_etcdclusters.yaml'];
    expect(shown).toEqual(files.map((f) => parse(readFileSync(join(repoRoot, 'crds', f), 'utf8')) as unknown));
  });

  it('renders the RBAC of deploy/: a ClusterRole by default, a Role per watched namespace otherwise', async () => {
    const want = find<V1Role>(kustomized, 'ClusterRole', 'etcd-operator-manager').rules;
    const leader = find<V1Role>(kustomized, 'Role', 'etcd-operator-leader-election').rules;
    const cluster = await template();
    expect(find<V1Role>(cluster, 'ClusterRole', 'etcd-operator-manager').rules).toEqual(want);
    expect(find<V1Role>(cluster, 'Role', 'etcd-operator-leader-election').rules).toEqual(leader);
    const scoped = await template('--set', 'watchNamespaces={team-a,team-b}');
    expect(scoped.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
    const roles = scoped.filter((o): o is V1Role => o.kind === 'Role' && o.metadata?.name === 'etcd-operator-manager');
    expect(roles.map((r) => r.metadata?.namespace)).toEqual(['team-a', 'team-b']);
    for (const role of roles) expect(role.rules).toEqual(want);
    const args = find<V1Deployment>(scoped, 'Deployment').spec!.template.spec!.containers[0]!.args;
    expect(args).toContain('--namespaces=team-a,team-b');
  });

  it("renders deploy/'s operator pod: same security contexts, resources, probes, ports and env", async () => {
    const fromChart = find<V1Deployment>(await template(), 'Deployment').spec!;
    const fromKustomize = find<V1Deployment>(kustomized, 'Deployment').spec!;
    expect(fromChart.replicas).toBe(fromKustomize.replicas);
    const [a, b] = [fromChart.template.spec!, fromKustomize.template.spec!];
    expect(a.securityContext).toEqual(b.securityContext);
    expect(a.terminationGracePeriodSeconds).toBe(b.terminationGracePeriodSeconds);
    const [ca, cb] = [a.containers[0]!, b.containers[0]!];
    for (const field of ['securityContext', 'resources', 'livenessProbe', 'readinessProbe', 'ports', 'env'] as const) expect(ca[field], field).toEqual(cb[field]);
    expect(new Set(cb.args)).toEqual(new Set(ca.args?.filter((x) => !x.startsWith('--workers=') && !x.startsWith('--log-level='))));
  });

  it('renders a ServiceMonitor that selects the metrics Service, only when asked', async () => {
    expect((await template()).some((o) => o.kind === 'ServiceMonitor')).toBe(false);
    const objects = await template('--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=prom');
    const monitor = find<KubernetesObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { honorLabels?: boolean }[] } }>(objects, 'ServiceMonitor');
    // Cluster series carry their own namespace label; Prometheus must not overwrite it.
    expect(monitor.spec.endpoints[0]!.honorLabels).toBe(true);
    expect(monitor.metadata?.labels?.release).toBe('prom');
    const service = find(objects, 'Service', 'etcd-operator-metrics');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(service.metadata?.labels?.[k], k).toBe(v);
  });

  it('refuses two replicas without leader election', async () => {
    const res = await helm('template', 'etcd-operator', chart, '--set', 'leaderElection.enabled=false');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('replicaCount above 1 needs leaderElection.enabled');
  });

  it('applies with kubectl apply --dry-run=server in both modes', async () => {
    await cp.kubectl(['create', 'namespace', ns]);
    for (const team of ['team-a', 'team-b']) await cp.kubectl(['create', 'namespace', team]);
    for (const args of [[], ['--set', 'watchNamespaces={team-a,team-b}']]) {
      const res = await helm('template', 'etcd-operator', chart, '-n', ns, '--include-crds', ...args);
      expect(res.code, res.stderr).toBe(0);
      const dry = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: res.stdout });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain('deployment.apps/etcd-operator created (server dry run)');
    }
  });

  it('installs with helm install into a restricted namespace, whose ReplicaSet controller creates both pods', async () => {
    const label = await cp.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
    expect(label.code, label.stderr).toBe(0);
    const res = await helm('install', 'etcd-operator', chart, '-n', ns);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('STATUS: deployed');
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    await waitFor('two operator pods', async () => {
      const list = await cp.kubectl(['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=etcd-operator', '-o', 'name']);
      return list.stdout.split('\n').filter(Boolean).length === 2;
    });
    const failed = await cp.kubectl(['get', 'events', '-n', ns, '--field-selector=reason=FailedCreate', '-o', 'jsonpath={.items[*].message}']);
    expect(failed.stdout).toBe('');
  });
});
