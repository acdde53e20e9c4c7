/**
 * The command line of `kubectl etcd`, parsed into one command (pure). kubectl's habits: global
 * flags anywhere before `--`, `-n/--namespace`, `--kubeconfig`, `--context`, `-o json`.
 */
import { parseArgs } from 'node:util';

export interface Globals {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  output: 'text' | 'json';
}

export type Command =
  | { verb: 'help' }
  | { verb: 'version' }
  | { verb: 'status'; name: string }
  | { verb: 'ctl'; name: string; etcdctl: string; endpoints?: string[]; args: string[] }
  | { verb: 'pause' | 'resume'; name: string }
  | { verb: 'backup'; name: string; backupName?: string; wait: boolean; timeoutSeconds: number }
  | { verb: 'restore'; name: string; fromBackup: string; replicas?: number; version?: string; wait: boolean; timeoutSeconds: number }
  | { verb: 'recover'; name: string; from: { survivor: string | undefined } | { backup: string } };

export type Parsed = { ok: true; globals: Globals; command: Command } | { ok: false; message: string };

export const usage = `kubectl etcd: day-2 commands for EtcdClusters run by etcd-operator.

Usage:
  kubectl etcd status NAME              Members (role, leader, health, version, database size and in use),
                                        certificate expiry, the last backup and the conditions.
  kubectl etcd ctl NAME -- ARGS...      Runs etcdctl ARGS against the cluster's members with the user client
                                        certificate from the Secret NAME-client-tls. It connects straight to the
                                        members' client URLs (their cluster DNS names, port 2379): run it where
                                        those resolve and are reachable (inside the cluster, or through a VPN),
                                        or give --endpoints. Needs etcdctl on PATH, or --etcdctl PATH.
  kubectl etcd pause NAME               Sets spec.paused: the operator stops changing the cluster.
  kubectl etcd resume NAME              Clears spec.paused.
  kubectl etcd backup NAME              Creates an EtcdBackup of NAME to the destination of its spec.backup;
                                        --name BACKUP to choose its name, --wait to wait for the result
                                        (--timeout SECONDS, default 600).
  kubectl etcd restore NEW --from-backup BACKUP
                                        Creates the EtcdCluster NEW restored from the EtcdBackup BACKUP
                                        (same namespace): every member starts from its snapshot.
                                        --replicas N (default 3), --version V (default: the etcd
                                        version the backup was taken on), --wait (--timeout SECONDS).
  kubectl etcd recover NAME --from-survivor [MEMBER] | --from-backup BACKUP
                                        Consents to recover NAME after it lost its quorum (spec.recovery, with
                                        the cluster's UID filled in): from the most advanced answering member
                                        (or MEMBER), restarted once with --force-new-cluster; the other members
                                        and their volumes are deleted. See status.quorumRecovery first: writes
                                        the source lacks are lost. Acts once; refused while the quorum is healthy.
  kubectl etcd version                  Prints the plugin's version.

Flags (any command):
  -n, --namespace NS     Namespace of the cluster (default: the kubeconfig context's, else "default").
      --kubeconfig PATH  Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
      --context NAME     Kubeconfig context.
  -o, --output json      Machine-readable output (status, backup).
  -h, --help             This help.

Exit status: 0 on success, 1 when the request failed or the cluster or backup is not found or failed.
`;

export function parseCommandLine(argv: string[]): Parsed {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const passThrough = dash < 0 ? [] : argv.slice(dash + 1);
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: own,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
        etcdctl: { type: 'string' },
        endpoints: { type: 'string' },
        name: { type: 'string' },
        wait: { type: 'boolean' },
        'from-backup': { type: 'string' },
        'from-survivor': { type: 'boolean' },
        replicas: { type: 'string' },
        version: { type: 'string' },
        timeout: { type: 'string' },
      },
    }));
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') return { ok: false, message: `unsupported output format "${String(output)}": use -o json, or leave -o out for text` };
  const globals: Globals = { namespace: values.namespace as string | undefined, kubeconfig: values.kubeconfig as string | undefined, context: values.context as string | undefined, output };
  const [verb, name, ...extra] = positionals;
  if (values.help || verb === undefined || verb === 'help') return { ok: true, globals, command: { verb: 'help' } };
  if (verb === 'version') return { ok: true, globals, command: { verb: 'version' } };
  if (!['status', 'ctl', 'pause', 'resume', 'backup', 'restore', 'recover'].includes(verb)) return { ok: false, message: `unknown command "${verb}" for "kubectl etcd": see kubectl etcd --help` };
  if (!name) return { ok: false, message: `${verb} needs the EtcdCluster's name: kubectl etcd ${verb} NAME` };
  if (verb === 'recover') return parseRecover(globals, name, extra, values);
  if (extra.length > 0) return { ok: false, message: `unexpected argument "${extra[0]}": ${verb} takes one NAME${verb === 'ctl' ? ' (etcdctl arguments go after --)' : ''}` };
  if (verb !== 'ctl' && passThrough.length > 0) return { ok: false, message: `${verb} takes no arguments after --` };
  switch (verb) {
    case 'status':
      return { ok: true, globals, command: { verb, name } };
    case 'pause':
    case 'resume':
      return { ok: true, globals, command: { verb, name } };
    case 'ctl': {
      if (passThrough.length === 0) return { ok: false, message: 'ctl needs etcdctl arguments after --: kubectl etcd ctl NAME -- endpoint health' };
      const endpoints = (values.endpoints as string | undefined)?.split(',').filter(Boolean);
      return { ok: true, globals, command: { verb, name, etcdctl: (values.etcdctl as string | undefined) ?? 'etcdctl', endpoints, args: passThrough } };
    }
    case 'backup':
    case 'restore': {
      const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
      if (!Number.isInteger(timeout) || timeout <= 0) return { ok: false, message: `--timeout must be a whole number of seconds, not "${String(values.timeout)}"` };
      if (verb === 'backup') return { ok: true, globals, command: { verb, name, backupName: values.name as string | undefined, wait: values.wait === true, timeoutSeconds: timeout } };
      const fromBackup = values['from-backup'] as string | undefined;
      if (!fromBackup) return { ok: false, message: 'restore needs the EtcdBackup to restore: kubectl etcd restore NEW --from-backup BACKUP' };
      const replicas = values.replicas === undefined ? undefined : Number(values.replicas);
      if (replicas !== undefined && !Number.isInteger(replicas)) return { ok: false, message: `--replicas must be a whole number, not "${String(values.replicas)}"` };
      return { ok: true, globals, command: { verb, name, fromBackup, replicas, version: values.version as string | undefined, wait: values.wait === true, timeoutSeconds: timeout } };
    }
  }
  return { ok: false, message: `unknown command "${verb}"` };
}

function parseRecover(globals: Globals, name: string, extra: string[], values: Record<string, string | boolean | undefined>): Parsed {
  const backup = values['from-backup'] as string | undefined;
  const survivor = values['from-survivor'] === true;
  if (survivor === (backup !== undefined)) return { ok: false, message: 'recover needs one source: --from-survivor [MEMBER] or --from-backup BACKUP' };
  if (extra.length > (survivor ? 1 : 0)) return { ok: false, message: `unexpected argument "${extra.at(-1)}": recover takes NAME, and a MEMBER only after --from-survivor` };
  return { ok: true, globals, command: { verb: 'recover', name, from: survivor ? { survivor: extra[0] } : { backup: backup! } } };
}
