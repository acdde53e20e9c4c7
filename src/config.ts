import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration } from './api/duration.js';
import { defaultOperatorImage } from './version.js';

export interface Config {
  /** Path of a kubeconfig; undefined means in-cluster (or the default kubeconfig outside a pod). */
  kubeconfig: string | undefined;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaderElectionIdentity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  workers: number;
  resyncPeriodMs: number;
  gracefulShutdownTimeoutMs: number;
  logLevel: string;
  /** DNS domain of the Kubernetes cluster: member names and certificates use it. */
  clusterDomain: string;
  /** The image member pods run as their start guard: the operator's own. */
  memberInitImage: string;
  /** How long a learner may take to start and catch up before it is removed and added again later. */
  learnerTimeoutMs: number;
}

// Flag names follow controller-runtime / kubebuilder; each can also be set in the environment as
// ETCD_OPERATOR_<NAME> (--lease-duration -> ETCD_OPERATOR_LEASE_DURATION). Flags win.
const flags = {
  kubeconfig: { env: 'KUBECONFIG', default: '' },
  namespaces: { default: '' },
  'metrics-bind-address': { default: '0.0.0.0:8080' },
  'health-probe-bind-address': { default: '0.0.0.0:8081' },
  'leader-elect': { default: 'true' },
  'leader-election-namespace': { env: 'POD_NAMESPACE', default: '' },
  'leader-election-id': { default: 'etcd-operator-leader' },
  'leader-election-identity': { env: 'POD_NAME', default: '' },
  'lease-duration': { default: '15s' },
  'renew-deadline': { default: '10s' },
  'retry-period': { default: '2s' },
  workers: { default: '2' },
  'resync-period': { default: '10m' },
  'graceful-shutdown-timeout': { default: '30s' },
  'log-level': { default: 'info' },
  'cluster-domain': { default: 'cluster.local' },
  'member-init-image': { default: defaultOperatorImage },
  // Long enough to pull the image and copy the database to the new member: raise it for large ones.
  'learner-timeout': { default: '5m' },
} as const satisfies Record<string, { env?: string; default: string }>;

type Flag = keyof typeof flags;

/** Go-style durations as used by the flags above: `500ms`, `15s`, `10m`, `1h30m`. */
export function parseDurationFlag(text: string): number {
  const ms = parseDuration(text.trim());
  if (ms === undefined) throw new Error(`invalid duration ${JSON.stringify(text)} (use e.g. 500ms, 15s, 10m)`);
  return ms;
}

function parseBool(name: string, text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new Error(`--${name} must be true or false, not ${JSON.stringify(text)}`);
}

function parseWorkers(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--workers must be a positive integer, not ${JSON.stringify(text)}`);
  return n;
}

const serviceAccountNamespace = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const options = Object.fromEntries(Object.keys(flags).map((name) => [name, { type: 'string' as const }]));
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const get = (name: Flag): string => {
    const spec: { env?: string; default: string } = flags[name];
    const fromEnv = env[`ETCD_OPERATOR_${name.toUpperCase().replaceAll('-', '_')}`] ?? (spec.env ? env[spec.env] : undefined);
    return values[name] ?? fromEnv ?? spec.default;
  };
  const config: Config = {
    kubeconfig: get('kubeconfig') || undefined,
    namespaces: get('namespaces').split(',').map((s) => s.trim()).filter(Boolean),
    metricsBindAddress: get('metrics-bind-address'),
    healthProbeBindAddress: get('health-probe-bind-address'),
    leaderElect: parseBool('leader-elect', get('leader-elect')),
    leaderElectionNamespace: get('leader-election-namespace') || (existsSync(serviceAccountNamespace) ? readFileSync(serviceAccountNamespace, 'utf8').trim() : 'default'),
    leaderElectionId: get('leader-election-id'),
    // As client-go: the host name plus a random suffix, so a restarted pod is a new candidate.
    leaderElectionIdentity: `${get('leader-election-identity') || hostname()}_${randomBytes(4).toString('hex')}`,
    leaseDurationMs: parseDurationFlag(get('lease-duration')),
    renewDeadlineMs: parseDurationFlag(get('renew-deadline')),
    retryPeriodMs: parseDurationFlag(get('retry-period')),
    workers: parseWorkers(get('workers')),
    resyncPeriodMs: parseDurationFlag(get('resync-period')),
    gracefulShutdownTimeoutMs: parseDurationFlag(get('graceful-shutdown-timeout')),
    logLevel: get('log-level'),
    clusterDomain: get('cluster-domain'),
    memberInitImage: get('member-init-image'),
    learnerTimeoutMs: parseDurationFlag(get('learner-timeout')),
  };
  if (config.renewDeadlineMs >= config.leaseDurationMs) throw new Error('--renew-deadline must be shorter than --lease-duration');
  if (config.learnerTimeoutMs < 1_000) throw new Error('--learner-timeout must be at least 1s');
  if (config.retryPeriodMs >= config.renewDeadlineMs) throw new Error('--retry-period must be shorter than --renew-deadline');
  return config;
}
