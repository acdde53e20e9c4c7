import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { memberSelector, selectorString } from '../../src/resources/names.js';
import { repoRoot } from '../harness/binaries.js';
import { type PrometheusServer, promtool, startPrometheus } from '../harness/prometheus.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';
import { type Exposition, parseExposition } from './metrics-exposition.js';
import { killEtcd } from './member-process.js';

// The operator's per-cluster metrics against reality: a real 3-member cluster, the operator's
// /metrics parsed and checked by promtool, a member killed (SIGKILL, again each time the agent
// restarts it) and brought back, and a real Prometheus that scrapes the operator and the members
// and fires, then resolves, the member-down alert.
const ns = 'default';
const name = 'health';
const quota = 1024 ** 3;
const manifest = `apiVersion: etcd.operator.dev/v1alpha1
kind: EtcdCluster
metadata:
  name: ${name}
spec:
  replicas: 3
  version: 3.6.16
  storage:
    size: 1Gi
  options:
    quota-backend-bytes: "${quota}"
`;
const c = { namespace: ns, cluster: name };

describe('per-cluster health metrics end to end', () => {
  let env: E2eEnvironment;
  let prometheus: PrometheusServer;
  let pods: { name: string; ip: string }[];

  const scrape = async (): Promise<{ text: string; ms: number }> => {
    const started = performance.now();
    const text = await (await fetch(env.operator().metricsUrl)).text();
    return { text, ms: performance.now() - started };
  };
  const metrics = async (): Promise<Exposition> => parseExposition((await scrape()).text);
  const memberPods = async () => {
    const list = JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', selectorString(memberSelector({ name, namespace: ns })), '-o', 'json')) as { items: V1Pod[] };
    return list.items.map((p) => ({ name: p.metadata!.name!, ip: p.status!.podIP! })).sort((a, b) => a.name.localeCompare(b.name));
  };

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-metrics');
    await env.startOperator();
    const apply = await env.cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: manifest });
    expect(apply.code, apply.stderr).toBe(0);
    await env.waitConverged(ns, name, 3);
    pods = await memberPods();
  });
  afterAll(async () => {
    await prometheus?.process.stop();
    await env?.stop();
  });

  it('exposes a well-formed scrape (promtool) whose values match the cluster: 3 ready, margin 1, leader, sizes, certificates', async () => {
    const { text } = await scrape();
    const check = await promtool(['check', 'metrics'], text);
    // promtool lints names too; our families must have no finding at all.
    const findings = (check.stdout + check.stderr).split('\n').filter(Boolean);
    console.log(`promtool check metrics: exit ${check.code}, ${findings.length} findings${findings.length ? `:\n${findings.join('\n')}` : ''}`);
    // 0: clean; 3: lint findings only (prom-client's nodejs_* gauges named _total); 1 would be a format error.
    expect([0, 3]).toContain(check.code);
    const ours = findings.filter((l) => /etcd_operator_(cluster|member|certificate)/.test(l));
    expect(ours).toEqual([]);

    const cluster = await env.waitConverged(ns, name, 3);
    const m = parseExposition(text);
    expect(m.types.get('etcd_operator_cluster_leader_changes_total')).toBe('counter');
    expect(m.one('etcd_operator_cluster_desired_members', c)).toBe(3);
    expect(m.one('etcd_operator_cluster_members', c)).toBe(3);
    expect(m.one('etcd_operator_cluster_ready_members', c)).toBe(3);
    expect(m.one('etcd_operator_cluster_learner_members', c)).toBe(0);
    expect(m.one('etcd_operator_cluster_has_leader', c)).toBe(1);
    expect(m.one('etcd_operator_cluster_quorum_margin', c)).toBe(1);
    expect(m.one('etcd_operator_cluster_db_quota_bytes', c)).toBe(quota);
    expect(Date.now() / 1000 - m.one('etcd_operator_cluster_last_reconcile_success_timestamp_seconds', c)).toBeLessThan(60);
    const leaders = m.samples.filter((s) => s.name === 'etcd_operator_member_is_leader' && s.labels.cluster === name && s.value === 1).map((s) => s.labels.member);
    expect(leaders).toEqual([cluster.status!.leader]);
    for (const pod of pods) expect(m.one('etcd_operator_member_healthy', { ...c, member: pod.name })).toBe(1);

    // Database sizes as etcd itself reports them (the cluster is idle, so they hold still).
    const endpoints = JSON.parse(await env.etcdctl(ns, name, ['endpoint', 'status', '-w', 'json'])) as { Status: { dbSize: number } }[];
    const byValue = (a: number, b: number) => a - b;
    const reported = endpoints.map((e) => e.Status.dbSize).sort(byValue);
    const now = await metrics();
    const sizes = pods.map((p) => now.one('etcd_operator_member_db_size_bytes', { ...c, member: p.name }));
    expect(sizes.slice().sort(byValue)).toEqual(reported);
    for (const p of pods) expect(now.one('etcd_operator_member_db_quota_fraction', { ...c, member: p.name })).toBeCloseTo(now.one('etcd_operator_member_db_size_bytes', { ...c, member: p.name }) / quota, 12);

    // Certificate countdowns against the Secrets' own notAfter.
    const secret = async (n: string) => JSON.parse(await env.kubectl('get', 'secret', n, '-n', ns, '-o', 'json')) as V1Secret;
    const notAfter = (pem: string) => new Date(new X509Certificate(pem).validTo).getTime();
    const pem = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString('utf8');
    const expected: Record<string, number> = {
      server: notAfter(pem(await secret(`${name}-server-tls`), 'tls.crt')),
      peer: notAfter(pem(await secret(`${name}-peer-tls`), 'tls.crt')),
      'operator-client': notAfter(pem(await secret(`${name}-operator-client-tls`), 'tls.crt')),
      'user-client': notAfter(pem(await secret(`${name}-client-tls`), 'tls.crt')),
      ca: notAfter(pem(await secret(`${name}-ca`), 'tls.crt')),
    };
    // The gauge counts down to notAfter at scrape time: compare against the scrape's own moment.
    const scrapedAt = Date.now();
    const countdowns = await metrics();
    for (const [certificate, at] of Object.entries(expected)) {
      const seconds = countdowns.one('etcd_operator_certificate_expiry_seconds', { ...c, certificate });
      expect(Math.abs(seconds - (at - scrapedAt) / 1000)).toBeLessThan(10);
    }
  });

  it('costs little to scrape', async () => {
    const runs = [];
    for (let i = 0; i < 20; i++) runs.push(await scrape());
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
    const bytes = Buffer.byteLength(runs.at(-1)!.text);
    const ours = runs.at(-1)!.text.split('\n').filter((l) => /^etcd_operator_(cluster|member|certificate)/.test(l));
    console.log(`scrape of /metrics (3-member cluster): ${bytes} bytes, ${runs.at(-1)!.text.split('\n').filter((l) => l && !l.startsWith('#')).length} samples (${ours.length} per-cluster, ${Buffer.byteLength(ours.join('\n'))} bytes); time median ${ms[10]!.toFixed(2)} ms, max ${ms.at(-1)!.toFixed(2)} ms`);
    // A sanity bound only (the figure above is the measurement): a scrape must not take seconds.
    expect(ms[10]).toBeLessThan(1_000);
  });

  it('a real Prometheus scrapes the operator and the members', async () => {
    const dir = join(env.cp.dir, 'prometheus');
    const rules = parse(readFileSync(join(repoRoot, 'deploy', 'monitoring', 'rules', 'etcd-operator.rules.yaml'), 'utf8')) as { groups: { rules: { alert?: string; for?: string }[] }[] };
    // A test copy: the member-down alert fires after 2 s instead of 3 minutes.
    for (const rule of rules.groups.flatMap((g) => g.rules)) if (rule.alert === 'EtcdMemberDown') rule.for = '2s';
    const rulesPath = join(env.cp.dir, 'rules.yaml');
    writeFileSync(rulesPath, stringify(rules));
    const operatorTarget = new URL(env.operator().metricsUrl).host;
    // The labels the PodMonitor's relabelings give member targets.
    const memberLabels = Object.fromEntries(pods.map((p) => [`${p.ip}:2381`, { namespace: ns, cluster: name, member: p.name }]));
    prometheus = await startPrometheus(dir, {
      jobs: [
        // The job name the ServiceMonitor gives the operator (its Service's name), which EtcdOperatorDown watches.
        { job: 'etcd-operator-metrics', targets: [operatorTarget], honorLabels: true },
        { job: 'etcd', targets: Object.keys(memberLabels), labels: memberLabels },
      ],
      ruleFiles: [rulesPath],
      // 2 s rather than 1 s: a scrape slower than its timeout on a loaded machine reads as down.
      intervalSeconds: 2,
    });
    await env.waitFor('every target up', async () => {
      const up = await prometheus.query('up');
      return up.length === 4 && up.every((s) => s.value[1] === '1');
    }, { timeoutMs: 30_000, intervalMs: 500 });
    // Queries read the last scrape, which may be a moment old: poll each until it holds.
    await env.waitFor('3 ready members in Prometheus', async () => {
      const ready = await prometheus.query(`etcd_operator_cluster_ready_members{cluster="${name}"}`);
      return JSON.stringify(ready.map((s) => [s.metric.namespace, s.value[1]])) === JSON.stringify([[ns, '3']]);
    }, { timeoutMs: 30_000, intervalMs: 500 });
    await env.waitFor('a leader on every member in Prometheus', async () => {
      const hasLeader = await prometheus.query('etcd_server_has_leader');
      return hasLeader.length === 3 && hasLeader.every((s) => s.value[1] === '1');
    }, { timeoutMs: 30_000, intervalMs: 500 });
    // EtcdOperatorDown is pending until the first rule evaluation after the operator's first scrape.
    await env.waitFor('no alert active', async () => (await prometheus.alerts()).length === 0, { timeoutMs: 30_000, intervalMs: 500 });
  });

  it('a killed member lowers ready members and quorum margin and fires EtcdMemberDown; all recover when it is back', async () => {
    // The leader and its address as they are now: on a loaded machine an election may have moved
    // the leader since the cluster converged, and a status written between leaders names none.
    const victim = await env.waitFor('a leader in status', async () => (await env.cluster(ns, name)).status?.leader, { timeoutMs: 60_000, intervalMs: 250 });
    const ip = (await memberPods()).find((p) => p.name === victim)?.ip;
    expect(ip, `a pod address for ${victim}`).toBeTruthy();
    const changesBefore = (await metrics()).one('etcd_operator_cluster_leader_changes_total', c);
    const started = Date.now();
    // The agent restarts a crashed container (at once, then after 10 s, 20 s...): keep killing it.
    let kills = 0;
    const killer = setInterval(() => (kills += killEtcd(victim, ip!)), 100);
    try {
      // A kill that finds no process would leave the member up and every wait below timing out.
      await env.waitFor(`the etcd process of ${victim} (${ip}) killed`, () => kills > 0, { timeoutMs: 30_000, intervalMs: 100 });
      const down = await env.waitFor(`${victim} down in the operator's metrics`, async () => {
        const m = await metrics();
        const seen = { ready: m.one('etcd_operator_cluster_ready_members', c), margin: m.one('etcd_operator_cluster_quorum_margin', c), healthy: m.one('etcd_operator_member_healthy', { ...c, member: victim }) };
        return seen.ready === 2 && seen.margin === 0 && seen.healthy === 0 ? seen : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      console.log(`killed leader ${victim} (${kills} kills so far): metrics show it down after ${Date.now() - started} ms: ${JSON.stringify(down)}`);
      const alert = await env.waitFor('EtcdMemberDown firing in Prometheus', async () => (await prometheus.alerts()).find((a) => a.labels.alertname === 'EtcdMemberDown' && a.labels.member === victim && a.state === 'firing'), { timeoutMs: 60_000, intervalMs: 500 });
      console.log(`EtcdMemberDown firing after ${Date.now() - started} ms: ${alert.annotations.summary}`);
      expect(alert.labels).toMatchObject({ namespace: ns, cluster: name, member: victim, severity: 'warning' });
      await env.waitFor(`${victim} down in Prometheus`, async () => (await prometheus.query(`up{job="etcd",member="${victim}"}`))[0]?.value[1] === '0', { timeoutMs: 30_000, intervalMs: 500 });
    } finally {
      clearInterval(killer);
    }
    const back = Date.now();
    await env.waitFor(`${victim} healthy again in the operator's metrics`, async () => {
      const m = await metrics();
      return m.one('etcd_operator_cluster_ready_members', c) === 3 && m.one('etcd_operator_cluster_quorum_margin', c) === 1 && m.one('etcd_operator_cluster_has_leader', c) === 1;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    console.log(`recovered in the metrics ${Date.now() - back} ms after the killing stopped`);
    await env.waitFor('EtcdMemberDown resolved in Prometheus', async () => !(await prometheus.alerts()).some((a) => a.labels.alertname === 'EtcdMemberDown'), { timeoutMs: 60_000, intervalMs: 500 });
    console.log(`EtcdMemberDown resolved ${Date.now() - back} ms after the killing stopped`);
    // The leader died: the survivors elected another, and the operator counted it.
    expect((await metrics()).one('etcd_operator_cluster_leader_changes_total', c)).toBeGreaterThan(changesBefore);
    await env.waitConverged(ns, name, 3);

    // Each health flip logged once: since the kill, the victim's lines alternate down, up, down...
    const flips = logLines(env.operator().process.logPath).filter((l) => l.member === victim && Date.parse(String(l.timestamp)) >= started && (l.message === 'member became unhealthy' || l.message === 'member became healthy'));
    console.log(`health transitions logged for ${victim}: ${flips.map((f) => (f.healthy ? 'up' : 'down')).join(', ')}`);
    expect(flips[0]?.message).toBe('member became unhealthy');
    expect(flips.at(-1)?.message).toBe('member became healthy');
    flips.forEach((f, i) => i > 0 && expect(f.healthy).not.toBe(flips[i - 1]!.healthy));
    expect(flips[0]).toMatchObject({ key: `${ns}/${name}`, healthy: false });
  });

  it('never logs secret material', async () => {
    const log = readFileSync(env.operator().process.logPath, 'utf8');
    // The right log, with the passes of a whole run in it (debug level).
    expect(log).toContain('member became unhealthy');
    expect(log).not.toContain('BEGIN');
    expect(log).not.toContain('PRIVATE KEY');
    const secrets = JSON.parse(await env.kubectl('get', 'secrets', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json')) as { items: V1Secret[] };
    const keys = secrets.items.map((s) => s.data?.['tls.key']).filter((k): k is string => k !== undefined);
    expect(keys.length).toBeGreaterThanOrEqual(5);
    for (const b64 of keys) {
      // The key as the Secret stores it (base64 of the PEM) and the PEM's own base64 body.
      expect(log).not.toContain(b64.slice(0, 40));
      const body = Buffer.from(b64, 'base64').toString('utf8').split('\n')[1]!;
      expect(body.length).toBeGreaterThan(40);
      expect(log).not.toContain(body.slice(0, 40));
    }
  });

  it('drops every series of a deleted cluster', async () => {
    await env.kubectl('delete', 'etcdcluster', name, '-n', ns, '--wait=true', '--timeout=120s');
    await env.waitFor('the cluster\'s series to disappear', async () => !(await scrape()).text.includes(`cluster="${name}"`), { timeoutMs: 60_000, intervalMs: 500 });
  });
});

function logLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
