import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { sampleCluster } from '../../src/resources/fixtures.js';
import { ports } from '../../src/resources/names.js';
import { buildStatefulSet } from '../../src/resources/statefulset.js';
import { kubeBinary, repoRoot } from '../harness/binaries.js';
import { makeHarnessDir } from '../harness/process.js';
import { type PrometheusServer, promtool, startPrometheus } from '../harness/prometheus.js';

// The alerts, monitors and dashboard of deploy/monitoring, checked by the real promtool and a real
// Prometheus server, and against the objects the operator builds (labels, port names).
const dir = join(repoRoot, 'deploy', 'monitoring');
const rulesPath = join(dir, 'rules', 'etcd-operator.rules.yaml');
const testsPath = join(dir, 'rules', 'etcd-operator.rules.test.yaml');
const read = (path: string) => readFileSync(path, 'utf8');

interface Rule { alert?: string; expr: string; for?: string }
interface Group { name: string; rules: Rule[] }
interface AlertTest { alertname: string; exp_alerts: unknown[] }

describe('deploy/monitoring alerts', () => {
  const groups = (parse(read(rulesPath)) as { groups: Group[] }).groups;
  const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert)).filter((a): a is string => a !== undefined);

  it('pass promtool check rules', async () => {
    const res = await promtool(['check', 'rules', rulesPath]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('pass promtool test rules, with a firing case for every alert', async () => {
    const res = await promtool(['test', 'rules', testsPath]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const tests = (parse(read(testsPath)) as { tests: { alert_rule_test: AlertTest[] }[] }).tests.flatMap((t) => t.alert_rule_test);
    const tested = new Set(tests.filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname));
    expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
    expect(alerts).toEqual(expect.arrayContaining(['EtcdClusterNoLeader', 'EtcdClusterQuorumLost', 'EtcdClusterQuorumAtRisk', 'EtcdMemberDown', 'EtcdCertificateExpiringSoon', 'EtcdDatabaseNearQuota', 'EtcdOperatorReconcileErrors']));
  });

  it('are the same groups in the PrometheusRule', () => {
    const rule = parse(read(join(dir, 'prometheusrule.yaml'))) as { apiVersion: string; kind: string; spec: { groups: Group[] } };
    expect([rule.apiVersion, rule.kind]).toEqual(['monitoring.coreos.com/v1', 'PrometheusRule']);
    expect(rule.spec.groups).toEqual(groups);
  });
});

describe('deploy/monitoring scrape configuration', () => {
  it('the PodMonitor selects member pods and their port 2381 by the name the pod template gives it', () => {
    const monitor = parse(read(join(dir, 'podmonitor-etcd.yaml'))) as { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string }[] } };
    const pod = buildStatefulSet(sampleCluster(), 3, 'trust-hash').spec!.template;
    expect(pod.metadata!.labels).toMatchObject(monitor.spec.selector.matchLabels);
    const port = pod.spec!.containers[0]!.ports!.find((p) => p.name === monitor.spec.podMetricsEndpoints[0]!.port);
    expect(port?.containerPort).toBe(ports.metrics);
  });

  it('the ServiceMonitor selects the metrics Service of deploy/base by label, namespace and port name, keeping our namespace label', () => {
    const monitor = parse(read(join(dir, 'servicemonitor-operator.yaml'))) as { spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; endpoints: { port: string; honorLabels: boolean }[] } };
    const service = parse(read(join(repoRoot, 'deploy', 'base', 'metrics-service.yaml'))) as { metadata: { namespace: string; labels: Record<string, string> }; spec: { ports: { name: string }[] } };
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.namespaceSelector.matchNames).toContain(service.metadata.namespace);
    expect(service.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]!.port);
    expect(monitor.spec.endpoints[0]!.honorLabels).toBe(true);
  });

  it('kustomize builds the monitors, the rule and the dashboard ConfigMap', async () => {
    const { stdout } = await promisify(execFile)(kubeBinary('kubectl'), ['kustomize', dir]);
    const kinds = parseAllDocuments(stdout).map((d) => (d.toJSON() as { kind: string }).kind).sort();
    expect(kinds).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule', 'ServiceMonitor']);
  });
});

describe('deploy/monitoring dashboard', () => {
  let prometheus: PrometheusServer;
  beforeAll(async () => {
    prometheus = await startPrometheus(makeHarnessDir('monitoring-rules'), { jobs: [] });
  });
  afterAll(async () => prometheus?.process.stop());

  it('has only queries that a real Prometheus accepts', async () => {
    const dashboard = JSON.parse(read(join(dir, 'grafana-dashboard.json'))) as { panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { query: unknown }[] } };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(10);
    const failures = [];
    for (const { panel, expr } of exprs) {
      // Grafana's template variables, as "All" expands them.
      const res = await prometheus.check(expr.replaceAll('$namespace', '.*').replaceAll('$cluster', '.*'));
      if (res.status !== 'success') failures.push({ panel, expr, error: res.error });
    }
    expect(failures).toEqual([]);
  });
});
