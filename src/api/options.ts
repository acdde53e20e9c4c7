/**
 * The etcd flags the operator sets itself and that spec.options may therefore not set, grouped
 * by why, so the CRD's refusal names the flags and the reason (one CEL rule per group; see
 * schema-spec.ts). isOwnedFlag lets code apply the same list.
 */

export interface OwnedFlagGroup {
  flags: readonly string[];
  /** Whole families, such as every `listen-*` flag. */
  prefixes: readonly string[];
  /** Completes "the operator ..." in the rejection message. */
  why: string;
}

export const ownedFlagGroups: readonly OwnedFlagGroup[] = [
  { flags: ['name', 'data-dir', 'wal-dir'], prefixes: [], why: 'names each member after its pod and keeps its data on the member volume' },
  { flags: ['advertise-client-urls'], prefixes: ['listen-'], why: "derives every URL from the member's stable DNS name and the ports it publishes" },
  {
    flags: ['initial-advertise-peer-urls', 'initial-cluster', 'initial-cluster-state', 'initial-cluster-token', 'force-new-cluster', 'strict-reconfig-check'],
    prefixes: ['discovery'],
    why: 'bootstraps the cluster and changes its membership itself, one safe step at a time',
  },
  {
    flags: ['cert-file', 'key-file', 'trusted-ca-file', 'client-cert-auth', 'client-cert-file', 'client-key-file', 'client-crl-file', 'auto-tls'],
    prefixes: ['peer-'],
    why: 'issues the certificates and configures TLS from spec.tls',
  },
  { flags: ['enable-v2', 'config-file'], prefixes: [], why: 'serves only the v3 API and configures etcd through flags' },
  // Off, a joining member's start guard would wait for good (it reads the member list there) and
  // the version check of an upgrade would see no member: on is etcd's default and the only value.
  { flags: ['enable-grpc-gateway'], prefixes: [], why: "reads members' lists and versions over etcd's JSON gateway, which must stay on" },
];

/** How a group reads in a message: `name, data-dir or wal-dir`, `listen-*`. */
export function describeGroup(group: OwnedFlagGroup): string {
  const all = [...group.flags, ...group.prefixes.map((p) => `${p}*`)];
  return all.length === 1 ? all[0]! : `${all.slice(0, -1).join(', ')} or ${all.at(-1)!}`;
}

export function isOwnedFlag(flag: string): boolean {
  return ownedFlagGroups.some((g) => g.flags.includes(flag) || g.prefixes.some((p) => flag.startsWith(p)));
}

/** Flag names as users write them in spec.options: lowercase words joined by dashes, no `--`. */
export const flagNamePattern = '^[a-z0-9]+(-[a-z0-9]+)*$';
