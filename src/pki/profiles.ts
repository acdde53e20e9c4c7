/**
 * What each certificate of a cluster must say: subject, SANs and usages. Pure; times and serials
 * are chosen when issuing, so a profile can be compared with what a Secret holds.
 */
import { type ClusterRef, clientServiceHosts, maxMembers, memberHosts, names } from '../resources/names.js';
import type { Usage } from './x509.js';

/** The cluster a certificate set belongs to. */
export interface PkiCluster extends ClusterRef {
  clusterDomain: string;
}

export type LeafKind = 'server' | 'peer' | 'operatorClient' | 'userClient';

export const leafKinds: readonly LeafKind[] = ['server', 'peer', 'operatorClient', 'userClient'];

export interface LeafProfile {
  kind: LeafKind;
  secretName: string;
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  usages: Usage[];
}

export const organization = 'etcd-operator';

/**
 * Common names of the client certificates. etcd maps a client certificate's CN to its user when
 * auth is enabled, so the operator is `root` and users get an ordinary user name.
 */
export const clientCommonNames = { operatorClient: 'root', userClient: 'etcd-client' } as const;

export const loopbackDnsNames = ['localhost'];
export const loopbackIps = ['127.0.0.1'];

export function caCommonName(c: ClusterRef): string {
  return `etcd-ca ${c.namespace}/${c.name}`;
}

/**
 * Every name a member can be reached by. All `maxMembers` ordinals are named so that scaling never
 * forces a reissue. Named one by one rather than with a wildcard: etcd's peer check would accept
 * `*.<peer-service>...` (it suffix-matches the reverse DNS name of the remote address), but clients
 * that dial a member's short name match wildcards by single label, and an explicit list is exact.
 */
export function serverHostNames(c: PkiCluster): string[] {
  const members = Array.from({ length: maxMembers }, (_, i) => memberHosts(c, i, c.clusterDomain)).flat();
  return [...members, ...clientServiceHosts(c, c.clusterDomain), ...loopbackDnsNames];
}

function secretName(c: ClusterRef, kind: LeafKind): string {
  switch (kind) {
    case 'server':
      return names.serverSecret(c);
    case 'peer':
      return names.peerSecret(c);
    case 'operatorClient':
      return names.operatorClientSecret(c);
    case 'userClient':
      return names.userClientSecret(c);
  }
}

/**
 * The desired profile of one leaf. Server and peer certificates carry both usages: a member dials
 * its peers with the peer certificate and its own gRPC gateway with the server certificate. Client
 * certificates carry no SANs, so etcd's peer-side SAN check has nothing to reject.
 */
export function leafProfile(c: PkiCluster, kind: LeafKind): LeafProfile {
  const base = { kind, secretName: secretName(c, kind), organizations: [organization] };
  if (kind === 'server' || kind === 'peer') {
    return {
      ...base,
      commonName: `${c.name}-${kind}`,
      dnsNames: serverHostNames(c),
      ipAddresses: [...loopbackIps],
      usages: ['serverAuth', 'clientAuth'],
    };
  }
  return { ...base, commonName: clientCommonNames[kind], dnsNames: [], ipAddresses: [], usages: ['clientAuth'] };
}

export function leafProfiles(c: PkiCluster): LeafProfile[] {
  return leafKinds.map((kind) => leafProfile(c, kind));
}
