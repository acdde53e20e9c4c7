import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { issue } from '../../src/pki/x509.js';
import { etcdBinary, kubeBinary, repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';

// `kubectl etcd` as users run it: the built plugin found by the real kubectl on PATH, against a
// real API server, and `ctl` driving the real etcdctl against a real TLS etcd with the client
// certificate it reads from the cluster's Secret. The operator is not needed: the EtcdCluster's
// status is written here as the operator would write it.
describe('kubectl etcd (plugin)', () => {
  let cp: ControlPlane;
  let etcd: EtcdTestCluster;
  let bin: string;
  let prefix: string;
  const ns = 'plugin';
  const run = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(file, args, { env, timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
  const kubectl = (args: string[]) => run(kubeBinary('kubectl'), args, { ...process.env, KUBECONFIG: cp.kubeconfigPath, PATH: `${bin}:${process.env.PATH}` });
  // kubectl refuses its own flags before a plugin's name: the kubeconfig comes from KUBECONFIG.
  const plugin = (...args: string[]) => kubectl(['etcd', ...args]);

  beforeAll(async () => {
    [cp, etcd] = await Promise.all([startControlPlane('plugin'), startEtcdCluster({ size: 1, label: 'plugin-etcd' })]);
    // Installed as the README says (npm install -g), into a private prefix.
    prefix = mkdtempSync(join(tmpdir(), 'plugin-prefix-'));
    const install = await run('npm', ['install', '--global', '--offline', '--no-audit', '--no-fund', `--prefix=${prefix}`, repoRoot]);
    expect(install.code, install.stderr).toBe(0);
    bin = join(prefix, 'bin');
    symlinkSync(etcdBinary('etcdctl'), join(bin, 'etcdctl'));
    expect((await cp.kubectl(['create', 'namespace', ns])).code).toBe(0);
    expect((await cp.kubectl(['apply', '-f', `${repoRoot}/crds`])).code).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    await cp.waitForCrd('etcdbackups.etcd.operator.dev');
    const member = [...etcd.members.values()][0]!;
    const cluster = {
      apiVersion: 'etcd.operator.dev/v1alpha1',
      kind: 'EtcdCluster',
      metadata: { name: 'demo', namespace: ns },
      spec: { replicas: 1, backup: { schedule: '@daily', destination: { endpoint: 'http://127.0.0.1:1', bucket: 'backups', credentialsSecretRef: { name: 's3' } } } },
    };
    expect((await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(cluster) })).code).toBe(0);
    const now = new Date().toISOString();
    const status = {
      status: {
        replicas: 1,
        readyReplicas: 1,
        leader: 'demo-0',
        currentVersion: etcd.version,
        clientEndpoint: 'https://demo-client.plugin.svc:2379',
        clientSecretName: 'demo-client-tls',
        members: [{ name: 'demo-0', memberID: 'abc123', role: 'Voter', isLeader: true, healthy: true, version: etcd.version, dbSizeBytes: 20480, clientURLs: [member.clientUrl], peerURLs: [member.peerUrl] }],
        conditions: [{ type: 'Available', status: 'True', reason: 'QuorumHealthy', message: '1 of 1 members healthy', lastTransitionTime: now }],
      },
    };
    const patched = await cp.kubectl(['patch', 'etcdcluster', 'demo', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    expect(patched.code, patched.stderr).toBe(0);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'demo-client-tls', namespace: ns }, stringData: { 'ca.crt': etcd.pki.trustedCaPem, 'tls.crt': etcd.pki.client.certPem, 'tls.key': etcd.pki.client.keyPem } };
    const start = new Date(Date.now() - 60_000);
    const ca = await issue({ commonName: 'demo CA', isCA: true, notBefore: start, notAfter: new Date(start.getTime() + 3650 * 86_400_000), serialHex: '01' });
    const caSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'demo-ca', namespace: ns }, stringData: { 'tls.crt': ca.certPem } };
    expect((await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [secret, caSecret] }) })).code).toBe(0);
  });
  afterAll(async () => {
    await Promise.all([cp?.stop(), etcd?.stop()]);
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  it('kubectl finds the plugin and prints its help', async () => {
    const res = await plugin('--help');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('kubectl etcd status NAME');
  });

  it('status shows members, certificate expiry and conditions; -o json is machine-readable', async () => {
    const text = await plugin('status', 'demo', '-n', ns);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/State:\s+Available/);
    expect(text.stdout).toMatch(/demo-0\s+abc123\s+Voter\s+yes\s+yes/);
    expect(text.stdout).toMatch(/demo-ca\s+\S+\s+36[45]\dd/);
    const json = await plugin('status', 'demo', '--namespace', ns, '-o', 'json');
    const report = JSON.parse(json.stdout) as { members: { name: string; leader: boolean }[]; certificates: { secret: string }[] };
    expect(report.members).toEqual([expect.objectContaining({ name: 'demo-0', leader: true })]);
    expect(report.certificates.map((c) => c.secret)).toEqual(['demo-ca', 'demo-client-tls']);
  });

  it('a missing cluster exits 1 with the API server NotFound message, as kubectl does', async () => {
    const res = await plugin('status', 'nope', '-n', ns);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/Error from server \(NotFound\): .*"nope" not found/);
    const bad = await plugin('frobnicate', 'demo');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown command "frobnicate"');
  });

  it('ctl runs the real etcdctl with the client certificate from the Secret', async () => {
    const put = await plugin('ctl', 'demo', '-n', ns, '--', 'put', 'from-plugin', 'hello');
    expect(put.code, put.stderr).toBe(0);
    const got = await etcd.etcdctl(['get', 'from-plugin', '--print-value-only']);
    expect(got.stdout.trim()).toBe('hello');
    const health = await plugin('ctl', 'demo', '-n', ns, '--', 'endpoint', 'health', '-w', 'json');
    expect(health.code, health.stderr).toBe(0);
    expect(JSON.parse(health.stdout)).toEqual([expect.objectContaining({ health: true })]);
  });

  it('pause and resume set spec.paused', async () => {
    const paused = async () => ((JSON.parse((await cp.kubectl(['get', 'etcdcluster', 'demo', '-n', ns, '-o', 'json'])).stdout) as EtcdCluster).spec.paused);
    expect((await plugin('pause', 'demo', '-n', ns)).code).toBe(0);
    expect(await paused()).toBe(true);
    expect((await plugin('resume', 'demo', '-n', ns)).code).toBe(0);
    expect(await paused()).toBe(false);
  });

  it('backup creates an EtcdBackup to the destination of spec.backup', async () => {
    const res = await plugin('backup', 'demo', '-n', ns, '--name', 'by-hand');
    expect(res.code, res.stderr).toBe(0);
    const backup = JSON.parse((await cp.kubectl(['get', 'etcdbackup', 'by-hand', '-n', ns, '-o', 'json'])).stdout) as EtcdBackup;
    expect(backup.spec).toMatchObject({ clusterName: 'demo', destination: { bucket: 'backups', credentialsSecretRef: { name: 's3' } } });
  });

  it('restore creates a new EtcdCluster from a finished backup, on the version the backup was taken on', async () => {
    const early = await plugin('restore', 'copy', '-n', ns, '--from-backup', 'by-hand');
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('backup by-hand is Pending, not Succeeded');
    const done = { status: { phase: 'Succeeded', completionTime: new Date().toISOString(), revision: 42, etcdVersion: '3.5.35', key: 'k', bucket: 'backups', sizeBytes: 1 } };
    const patched = await cp.kubectl(['patch', 'etcdbackup', 'by-hand', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(done)]);
    expect(patched.code, patched.stderr).toBe(0);
    const res = await plugin('restore', 'copy', '-n', ns, '--from-backup', 'by-hand', '--replicas', '3');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('restoring by-hand (revision 42)');
    const copy = JSON.parse((await cp.kubectl(['get', 'etcdcluster', 'copy', '-n', ns, '-o', 'json'])).stdout) as EtcdCluster;
    expect(copy.spec).toMatchObject({ replicas: 3, version: '3.5.35', restore: { backupName: 'by-hand' } });
    const refused = await plugin('restore', 'even', '-n', ns, '--from-backup', 'by-hand', '--replicas', '4');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('replicas must be one of 1, 3, 5, 7, 9');
  });

  it('restore --wait says at once when the restore waits on a person (RestoreBlocked), and again at its timeout', async () => {
    const waiting = plugin('restore', 'stuck', '-n', ns, '--from-backup', 'by-hand', '--wait', '--timeout', '6');
    // As the operator would write it while a restore pod cannot start.
    const blocked = { status: { conditions: [{ type: 'Degraded', status: 'True', reason: 'RestoreBlocked', message: 'restore pod stuck-restore-0 cannot start: secret "s3" not found', lastTransitionTime: new Date().toISOString(), observedGeneration: 1 }] } };
    for (let i = 0; i < 40; i++) {
      const res = await cp.kubectl(['patch', 'etcdcluster', 'stuck', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(blocked)]);
      if (res.code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await waiting;
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('stuck is Degraded, still waiting: RestoreBlocked: restore pod stuck-restore-0 cannot start');
    expect(res.stderr).toContain('is not Available after 6s (RestoreBlocked: ');
  });
});
