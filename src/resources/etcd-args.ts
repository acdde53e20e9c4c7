import type { EtcdCluster } from '../api/types.generated.js';
import { optionsFor } from './etcd-flags-by-version.js';
import { corruptionCheckOptions } from './corruption-flags.js';
import { type ClusterRef, names, ports } from './names.js';

/** Where the pod mounts things. */
export const paths = {
  data: '/var/lib/etcd',
  serverTls: '/etc/etcd/tls/server',
  peerTls: '/etc/etcd/tls/peer',
} as const;

/** Environment variables the pod gets and the flags refer to as $(NAME). */
export const env = {
  podName: 'POD_NAME',
  podIP: 'POD_IP',
  initialCluster: 'ETCD_OPERATOR_INITIAL_CLUSTER',
  initialClusterState: 'ETCD_OPERATOR_INITIAL_CLUSTER_STATE',
  /** The pod's refusal to start on an empty data directory (empty-data-refusal.ts), or nothing. */
  emptyDataRefusal: 'ETCD_OPERATOR_EMPTY_DATA_REFUSAL',
} as const;

/** Flags the operator sets unless the user's options name them. */
const defaultOptions: Record<string, string> = {
  // Keep one hour of history; without compaction the database grows until it hits its quota.
  'auto-compaction-mode': 'periodic',
  'auto-compaction-retention': '1h',
};

/**
 * etcd's command line, kubeadm style: every setting explicit. Per-pod values come from the
 * downward API and the membership ConfigMap through $(VAR) expansion, so all pods share one
 * template. Listeners bind the pod IP (metrics too: Prometheus must reach them).
 */
/** A member's stable DNS name with the pod's own name filled in by $(VAR) expansion. */
function memberHostExpression(ref: ClusterRef, domain: string): string {
  return `$(${env.podName}).${names.peerService(ref)}.${ref.namespace}.svc.${domain}`;
}

/** The peer URL a member advertises (as `memberPeerUrl`, for the pod's own ordinal). */
export function memberPeerUrlExpression(ref: ClusterRef, domain: string): string {
  return `https://${memberHostExpression(ref, domain)}:${ports.peer}`;
}

/** Unique per cluster object, so members of a deleted and recreated cluster never mix. */
export function initialClusterToken(cluster: EtcdCluster, ref: ClusterRef): string {
  return `${ref.namespace}-${ref.name}-${cluster.metadata.uid}`;
}

/** `refuseEmptyData`: --initial-cluster ends with the pod's refusal (empty-data-refusal.ts). */
export function etcdArgs(cluster: EtcdCluster, ref: ClusterRef, domain: string, refuseEmptyData = true): string[] {
  const host = memberHostExpression(ref, domain);
  const ip = `$(${env.podIP})`;
  const args = [
    `--name=$(${env.podName})`,
    `--data-dir=${paths.data}/data`,
    `--listen-client-urls=https://${ip}:${ports.client}`,
    `--advertise-client-urls=https://${host}:${ports.client}`,
    `--listen-peer-urls=https://${ip}:${ports.peer}`,
    `--initial-advertise-peer-urls=${memberPeerUrlExpression(ref, domain)}`,
    `--listen-metrics-urls=http://${ip}:${ports.metrics}`,
    `--initial-cluster=$(${env.initialCluster})${refuseEmptyData ? `$(${env.emptyDataRefusal})` : ''}`,
    `--initial-cluster-state=$(${env.initialClusterState})`,
    `--initial-cluster-token=${initialClusterToken(cluster, ref)}`,
    '--client-cert-auth=true',
    `--trusted-ca-file=${paths.serverTls}/ca.crt`,
    `--cert-file=${paths.serverTls}/tls.crt`,
    `--key-file=${paths.serverTls}/tls.key`,
    '--peer-client-cert-auth=true',
    `--peer-trusted-ca-file=${paths.peerTls}/ca.crt`,
    `--peer-cert-file=${paths.peerTls}/tls.crt`,
    `--peer-key-file=${paths.peerTls}/tls.key`,
  ];
  // Corruption checks on by default (user options win); each version gets renamed flags under its
  // own name (refusing unknown ones is the operator's).
  const user = cluster.spec.options ?? {};
  const options = optionsFor({ ...defaultOptions, ...user, ...corruptionCheckOptions(cluster.spec.version, user) }, cluster.spec.version);
  for (const key of Object.keys(options).sort()) {
    const value = options[key];
    if (value !== undefined) args.push(`--${key}=${value}`);
  }
  return args;
}
