/**
 * `kubectl etcd`: reads and writes through the Kubernetes API as the caller (their kubeconfig),
 * and for `ctl` runs the caller's etcdctl with the cluster's user client certificate.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import { apiVersion, backupNames, group, kind, plural, version as apiGroupVersion } from '../api/group.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { names } from '../resources/names.js';
import { KubeApiError, kubeRequest } from '../runtime/kube-http.js';
import { operatorVersion } from '../version.js';
import { type Command, type Globals, parseCommandLine, usage } from './args.js';
import { type CertificateExpiry, buildReport, formatReport, newestBackup } from './status.js';

/** A failure to print as kubectl does (`error: ...`) with exit status 1. */
class PluginError extends Error {}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => Date;
}

interface Session {
  kc: KubeConfig;
  namespace: string;
  globals: Globals;
  io: Io;
}

const clusterPath = (ns: string, name?: string) => `/apis/${group}/${apiGroupVersion}/namespaces/${encodeURIComponent(ns)}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
const backupPath = (ns: string, name?: string) => `/apis/${group}/${apiGroupVersion}/namespaces/${encodeURIComponent(ns)}/${backupNames.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
const secretPath = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`;

/** kubectl's wording for API errors: `Error from server (NotFound): ...`. */
function describeApiError(err: unknown): string {
  if (err instanceof KubeApiError) return `Error from server${err.reason ? ` (${err.reason})` : ''}: ${err.message}`;
  return `error: ${(err as Error).message}`;
}

function loadKubeConfig(globals: Globals): { kc: KubeConfig; namespace: string } {
  const kc = new KubeConfig();
  if (globals.kubeconfig) kc.loadFromFile(globals.kubeconfig);
  else kc.loadFromDefault();
  if (globals.context) {
    if (!kc.getContextObject(globals.context)) throw new PluginError(`context "${globals.context}" does not exist in the kubeconfig`);
    kc.setCurrentContext(globals.context);
  }
  if (!kc.getCurrentCluster()) throw new PluginError('no cluster in the kubeconfig: give --kubeconfig, or set KUBECONFIG');
  const namespace = globals.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kc, namespace };
}

async function getCluster(s: Session, name: string): Promise<EtcdCluster> {
  return kubeRequest<EtcdCluster>(s.kc, clusterPath(s.namespace, name));
}

async function readSecret(s: Session, name: string): Promise<Record<string, string> | undefined> {
  try {
    const secret = await kubeRequest<{ data?: Record<string, string> }>(s.kc, secretPath(s.namespace, name));
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    // The caller may not be allowed to read Secrets: status still shows what it can.
    if (err instanceof KubeApiError && (err.statusCode === 404 || err.statusCode === 403)) return undefined;
    throw err;
  }
}

async function certificateExpiries(s: Session, cluster: EtcdCluster): Promise<CertificateExpiry[]> {
  const ref = { name: cluster.metadata.name!, namespace: s.namespace };
  const secrets = [names.caSecret(ref), names.serverSecret(ref), names.peerSecret(ref), names.userClientSecret(ref)];
  const out: CertificateExpiry[] = [];
  for (const secret of secrets) {
    const data = await readSecret(s, secret);
    const pem = data?.['tls.crt'];
    if (!pem) continue;
    try {
      out.push({ secret, notAfter: new Date(new X509Certificate(pem).validTo) });
    } catch {
      // Not a certificate: nothing to report about its expiry.
    }
  }
  return out;
}

async function status(s: Session, name: string): Promise<number> {
  const cluster = await getCluster(s, name);
  const backups = await kubeRequest<{ items: EtcdBackup[] }>(s.kc, backupPath(s.namespace)).then((l) => l.items, () => [] as EtcdBackup[]);
  const report = buildReport(cluster, await certificateExpiries(s, cluster), newestBackup(backups, cluster), s.io.now());
  s.io.out(s.globals.output === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, s.io.now()));
  return 0;
}

async function setPaused(s: Session, name: string, paused: boolean): Promise<number> {
  await kubeRequest(s.kc, clusterPath(s.namespace, name), { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { paused } } });
  s.io.out(`${plural}.${group}/${name} ${paused ? 'paused' : 'resumed'}\n`);
  return 0;
}

/** spec.recovery with this cluster's UID: the consent the operator checks (src/recovery). */
async function recover(s: Session, command: Extract<Command, { verb: 'recover' }>): Promise<number> {
  const cluster = await getCluster(s, command.name);
  // A merge patch: the other source and a member named before are deleted with null.
  const from = 'backup' in command.from ? { fromBackup: { backupName: command.from.backup }, fromSurvivor: null } : { fromSurvivor: { member: command.from.survivor ?? null }, fromBackup: null };
  const recovery = { clusterUID: cluster.metadata.uid, ...from };
  await kubeRequest(s.kc, clusterPath(s.namespace, command.name), { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { recovery } } });
  s.io.out(`${plural}.${group}/${command.name}: recovery consented (${'backup' in command.from ? `from EtcdBackup ${command.from.backup}` : `from ${command.from.survivor ?? 'the most advanced survivor'}`}); follow it in status.recovery and the events\n`);
  return 0;
}

async function ctl(s: Session, command: Extract<Command, { verb: 'ctl' }>): Promise<number> {
  const cluster = await getCluster(s, command.name);
  const secretName = cluster.status?.clientSecretName ?? names.userClientSecret({ name: command.name, namespace: s.namespace });
  const data = await readSecret(s, secretName);
  if (!data?.['tls.crt'] || !data['tls.key']) throw new PluginError(`cannot read the client certificate in Secret ${s.namespace}/${secretName} (it needs get on secrets in ${s.namespace})`);
  const endpoints = command.endpoints ?? (cluster.status?.members ?? []).flatMap((m) => m.clientURLs ?? []);
  if (endpoints.length === 0) throw new PluginError(`${command.name} reports no member client URLs yet: wait for it to start, or give --endpoints`);
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-etcd-'));
  try {
    for (const file of ['ca.crt', 'tls.crt', 'tls.key']) writeFileSync(join(dir, file), data[file] ?? '', { mode: 0o600 });
    const argv = [`--endpoints=${endpoints.join(',')}`, `--cacert=${join(dir, 'ca.crt')}`, `--cert=${join(dir, 'tls.crt')}`, `--key=${join(dir, 'tls.key')}`, ...command.args];
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(command.etcdctl, argv, { stdio: 'inherit' });
      child.on('error', (err: NodeJS.ErrnoException) =>
        reject(new PluginError(err.code === 'ENOENT' ? `etcdctl not found ("${command.etcdctl}"): put it on PATH or give --etcdctl PATH` : err.message)),
      );
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `<cluster>-manual-20261130T120501`: sortable, and apart from the schedule's names. */
export function manualBackupName(cluster: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
  return `${cluster}-manual-${stamp}`;
}

async function backup(s: Session, command: Extract<Command, { verb: 'backup' }>): Promise<number> {
  const cluster = await getCluster(s, command.name);
  const spec = cluster.spec.backup;
  if (!spec?.destination) throw new PluginError(`${command.name} has no spec.backup.destination to back up to: set one, or create an EtcdBackup with its own destination (kubectl apply)`);
  const name = command.backupName ?? manualBackupName(command.name, s.io.now());
  const body = { apiVersion, kind: backupNames.kind, metadata: { name, namespace: s.namespace }, spec: { clusterName: command.name, destination: spec.destination, ...(spec.compression ? { compression: spec.compression } : {}) } };
  await kubeRequest(s.kc, backupPath(s.namespace), { method: 'POST', body });
  if (!command.wait) {
    s.io.out(s.globals.output === 'json' ? JSON.stringify({ name }) + '\n' : `${backupNames.plural}.${group}/${name} created\n`);
    return 0;
  }
  const deadline = Date.now() + command.timeoutSeconds * 1000;
  for (;;) {
    const current = await kubeRequest<EtcdBackup>(s.kc, backupPath(s.namespace, name));
    const phase = current.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      const failed = current.status?.conditions?.find((c) => c.status === 'False' || c.type === 'Failed');
      if (s.globals.output === 'json') s.io.out(JSON.stringify({ name, ...current.status }, null, 2) + '\n');
      else if (phase === 'Succeeded') s.io.out(`${backupNames.plural}.${group}/${name} succeeded: revision ${current.status?.revision}, ${current.status?.sizeBytes} bytes, s3://${current.status?.bucket}/${current.status?.key}\n`);
      if (phase === 'Failed') throw new PluginError(`backup ${name} failed: ${failed?.message ?? 'see kubectl describe etcdbackup ' + name}`);
      return 0;
    }
    if (Date.now() > deadline) throw new PluginError(`backup ${name} is still ${phase ?? 'Pending'} after ${command.timeoutSeconds}s: see kubectl describe etcdbackup ${name}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function restore(s: Session, command: Extract<Command, { verb: 'restore' }>): Promise<number> {
  const source = await kubeRequest<EtcdBackup>(s.kc, backupPath(s.namespace, command.fromBackup));
  if (source.status?.phase !== 'Succeeded') throw new PluginError(`backup ${command.fromBackup} is ${source.status?.phase ?? 'Pending'}, not Succeeded: only a finished backup can be restored`);
  const version = command.version ?? source.status.etcdVersion?.replace(/^v/, '');
  const spec = { ...(command.replicas !== undefined ? { replicas: command.replicas } : {}), ...(version ? { version } : {}), restore: { backupName: command.fromBackup } };
  // The API server's CEL rules judge the spec (versions, replicas): their message is the answer.
  await kubeRequest(s.kc, clusterPath(s.namespace), { method: 'POST', body: { apiVersion, kind, metadata: { name: command.name, namespace: s.namespace }, spec } });
  if (!command.wait) {
    s.io.out(`${plural}.${group}/${command.name} created, restoring ${command.fromBackup} (revision ${source.status.revision ?? '-'})\n`);
    return 0;
  }
  const deadline = Date.now() + command.timeoutSeconds * 1000;
  let told = '';
  for (;;) {
    const cluster = await getCluster(s, command.name);
    const conditions = cluster.status?.conditions ?? [];
    const failed = conditions.find((c) => c.type === 'Degraded' && c.status === 'True' && c.reason === 'RestoreFailed');
    if (failed) throw new PluginError(`restore of ${command.name} failed: ${failed.message}`);
    if (conditions.some((c) => c.type === 'Available' && c.status === 'True')) {
      s.io.out(`${plural}.${group}/${command.name} restored from ${command.fromBackup} (revision ${source.status.revision ?? '-'}) and Available\n`);
      return 0;
    }
    // A restore waiting on something a person must fix (RestoreBlocked: a Secret, an image) is not
    // a failure, but whoever waits should hear of it now, not at the timeout.
    const degraded = conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
    const news = degraded ? `${degraded.reason}: ${degraded.message}` : '';
    if (news && news !== told) s.io.err(`${command.name} is Degraded, still waiting: ${news}\n`);
    told = news;
    if (Date.now() > deadline) throw new PluginError(`${command.name} is not Available after ${command.timeoutSeconds}s${news ? ` (${news})` : ''}: see kubectl etcd status ${command.name}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function run(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (!parsed.ok) {
    io.err(`error: ${parsed.message}\n`);
    return 1;
  }
  const { command, globals } = parsed;
  if (command.verb === 'help') {
    io.out(usage);
    return 0;
  }
  if (command.verb === 'version') {
    io.out(`kubectl-etcd v${operatorVersion} (${kind} ${apiVersion})\n`);
    return 0;
  }
  try {
    const { kc, namespace } = loadKubeConfig(globals);
    const s: Session = { kc, namespace, globals, io };
    switch (command.verb) {
      case 'status':
        return await status(s, command.name);
      case 'pause':
      case 'resume':
        return await setPaused(s, command.name, command.verb === 'pause');
      case 'ctl':
        return await ctl(s, command);
      case 'backup':
        return await backup(s, command);
      case 'restore':
        return await restore(s, command);
      case 'recover':
        return await recover(s, command);
    }
  } catch (err) {
    io.err(err instanceof PluginError ? `error: ${err.message}\n` : `${describeApiError(err)}\n`);
    return 1;
  }
}
