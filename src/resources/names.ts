/**
 * Every name, label, selector, port and URL the operator derives from an EtcdCluster. Nothing
 * else in the code base spells these out; deterministic, so a pass can recompute them.
 */

export const ports = { client: 2379, peer: 2380, metrics: 2381 } as const;

/**
 * Where a member pod's start guard says why it waits: plain HTTP on the metrics port, which only
 * the guard holds while etcd has not started (src/member-init/status-server.ts).
 */
export const guardStatusPath = '/member-init';

/** Upper bound on members (the API allows 1, 3, 5, 7 or 9). Certificates name all of them. */
export const maxMembers = 9;

export const defaultClusterDomain = 'cluster.local';

export interface ClusterRef {
  name: string;
  namespace: string;
}

export const labelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
} as const;

export const fieldManager = 'etcd-operator';

/** Annotations a user sets to give the operator a decision it will not take on its own. */
export const annotationKeys = {
  /** On a retained PVC (`"true"`): the operator may delete it and reuse its ordinal for a new member. */
  reclaim: 'etcd.operator.dev/reclaim',
  /**
   * On an EtcdCluster: the etcd cluster ID (hex) whose data it adopts, from volumes an earlier
   * EtcdCluster of the same name left behind. It becomes the cluster ID the status latches.
   */
  adoptClusterId: 'etcd.operator.dev/adopt-cluster-id',
  /**
   * On an EtcdCluster: a token (any new value) asks for a CA rotation with trust overlap. The
   * operator records the token it acted on in its CA Secret, so a copied manifest does not rotate.
   */
  rotateCa: 'etcd.operator.dev/rotate-ca',
  /** On a PVC the operator created for spec.restore: the UID of the EtcdCluster it was made for. */
  restoreFor: 'etcd.operator.dev/restore-for',
  /**
   * On such a PVC: how many times its restore pod was run again after a transient failure; on a
   * restore pod: which retry it is (0 the first run, and the first run after a user deleted it).
   */
  restoreRetries: 'etcd.operator.dev/restore-retries',
  /** On such a PVC: "true" from the operator deleting a failed restore pod to run it again until it made the next. */
  restoreRetryPending: 'etcd.operator.dev/restore-retry-pending',
  /**
   * On a member pod, the operator's (src/resources/empty-data-refusal.ts): what its etcd container
   * adds to --initial-cluster, so that etcd refuses to start there on an empty data directory.
   */
  emptyDataRefusal: 'etcd.operator.dev/empty-data-refusal',
  /**
   * On a child the operator applies (StatefulSet, Services, PodDisruptionBudget): a digest of what
   * it last applied (src/resources/applied.ts), so a field removed from the spec is applied too.
   */
  applied: 'etcd.operator.dev/applied',
} as const;

/** Labels of a cluster's restore pods: ours (cached, owned), never selected as members. */
export function restorePodLabels(c: ClusterRef): Record<string, string> {
  return { ...clusterLabels(c), [labelKeys.component]: 'restore' };
}

/** Labels of the pod that runs a survivor once with --force-new-cluster: never selected as a member. */
export function forcePodLabels(c: ClusterRef): Record<string, string> {
  return { ...clusterLabels(c), [labelKeys.component]: 'recovery' };
}

/** Labels on everything the operator creates for a cluster. */
export function clusterLabels(cluster: ClusterRef): Record<string, string> {
  return {
    [labelKeys.name]: 'etcd',
    [labelKeys.instance]: cluster.name,
    [labelKeys.managedBy]: 'etcd-operator',
  };
}

/** The labels that select a cluster's member pods (immutable once a StatefulSet exists). */
export function memberSelector(cluster: ClusterRef): Record<string, string> {
  return { [labelKeys.name]: 'etcd', [labelKeys.instance]: cluster.name, [labelKeys.component]: 'member' };
}

export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export const names = {
  statefulSet: (c: ClusterRef) => c.name,
  peerService: (c: ClusterRef) => `${c.name}-peer`,
  clientService: (c: ClusterRef) => `${c.name}-client`,
  podDisruptionBudget: (c: ClusterRef) => c.name,
  /** Initial-cluster flags for a member that starts empty, and which member ran on which volume. */
  membershipConfig: (c: ClusterRef) => `${c.name}-membership`,
  /** The PVC the StatefulSet controller creates for an ordinal from the `data` claim template. */
  dataVolumeClaim: (c: ClusterRef, ordinal: number) => `data-${c.name}-${ordinal}`,
  /** The pod that seeds an ordinal's volume from spec.restore before the StatefulSet exists. */
  restorePod: (c: ClusterRef, ordinal: number) => `${c.name}-restore-${ordinal}`,
  /**
   * The pod that runs a survivor once with --force-new-cluster (src/recovery). Not `<name>-<n>`,
   * so no StatefulSet of this cluster ever claims it.
   */
  forcePod: (c: ClusterRef, ordinal: number) => `${c.name}-force-new-cluster-${ordinal}`,
  /** Member (and pod) name of a StatefulSet ordinal. */
  member: (c: ClusterRef, ordinal: number) => `${c.name}-${ordinal}`,
  caSecret: (c: ClusterRef) => `${c.name}-ca`,
  /** The operator's next CA while a rotation is under way; it becomes the CA Secret at the end. */
  caNextSecret: (c: ClusterRef) => `${c.name}-ca-next`,
  serverSecret: (c: ClusterRef) => `${c.name}-server-tls`,
  peerSecret: (c: ClusterRef) => `${c.name}-peer-tls`,
  /** The certificate the operator itself authenticates to etcd with. */
  operatorClientSecret: (c: ClusterRef) => `${c.name}-operator-client-tls`,
  /** The certificate handed to users of the cluster. */
  userClientSecret: (c: ClusterRef) => `${c.name}-client-tls`,
};

/** `<pod>.<peer-service>.<namespace>.svc.<domain>`: a member's stable DNS name. */
export function memberHost(c: ClusterRef, ordinal: number, domain = defaultClusterDomain): string {
  return `${names.member(c, ordinal)}.${names.peerService(c)}.${c.namespace}.svc.${domain}`;
}

/** A member's names, short to fully qualified (the last is `memberHost`): what clients may dial. */
export function memberHosts(c: ClusterRef, ordinal: number, domain = defaultClusterDomain): string[] {
  const pod = `${names.member(c, ordinal)}.${names.peerService(c)}`;
  return [pod, `${pod}.${c.namespace}`, `${pod}.${c.namespace}.svc`, memberHost(c, ordinal, domain)];
}

export function memberPeerUrl(c: ClusterRef, ordinal: number, domain = defaultClusterDomain): string {
  return `https://${memberHost(c, ordinal, domain)}:${ports.peer}`;
}

export function memberClientUrl(c: ClusterRef, ordinal: number, domain = defaultClusterDomain): string {
  return `https://${memberHost(c, ordinal, domain)}:${ports.client}`;
}

/** The client Service's names, short to fully qualified. */
export function clientServiceHosts(c: ClusterRef, domain = defaultClusterDomain): string[] {
  const svc = names.clientService(c);
  return [svc, `${svc}.${c.namespace}`, `${svc}.${c.namespace}.svc`, `${svc}.${c.namespace}.svc.${domain}`];
}

/** What users and the operator connect to. */
export function clientEndpoint(c: ClusterRef, domain = defaultClusterDomain): string {
  return `https://${names.clientService(c)}.${c.namespace}.svc.${domain}:${ports.client}`;
}

/** Parses a member name back to its ordinal, or undefined when it is not one of this cluster's. */
export function memberOrdinal(c: ClusterRef, memberName: string): number | undefined {
  const prefix = `${c.name}-`;
  if (!memberName.startsWith(prefix)) return undefined;
  const rest = memberName.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

/**
 * The folder of one cluster's backups in a bucket, `<prefix>/<namespace>/<cluster>/`: retention
 * lists and deletes only under it, so it never touches another cluster's objects.
 */
export function backupFolder(prefix: string | undefined, c: ClusterRef): string {
  const base = (prefix ?? '').replace(/\/+$/, '');
  return `${base ? `${base}/` : ''}${c.namespace}/${c.name}/`;
}

/** The object one EtcdBackup writes: named after the backup, so a retry overwrites its own object. */
export function backupObjectKey(prefix: string | undefined, c: ClusterRef, backupName: string, compression: 'none' | 'gzip'): string {
  return `${backupFolder(prefix, c)}${backupName}.db${compression === 'gzip' ? '.gz' : ''}`;
}

/** Labels of the EtcdBackups a cluster's schedule creates: retention considers only these. */
export function scheduledBackupLabels(c: ClusterRef): Record<string, string> {
  return { ...clusterLabels(c), [labelKeys.component]: 'scheduled-backup' };
}

/** The schedule slot a scheduled EtcdBackup was made for (RFC 3339). */
export const backupSlotAnnotation = 'etcd.operator.dev/backup-slot';

/** `<cluster>-<yyyymmddhhmm>` (UTC): one name per schedule slot, so a slot is backed up once. */
export function scheduledBackupName(c: ClusterRef, slot: Date): string {
  return `${c.name}-${slot.toISOString().slice(0, 16).replace(/[-T:]/g, '')}`;
}
