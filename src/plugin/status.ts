/**
 * What `kubectl etcd status` shows, built from what was read (pure): the cluster's status as the
 * operator last wrote it, the expiry of its certificates, and its newest successful backup.
 */
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { backupOfCluster } from '../backup/origin.js';

export interface CertificateExpiry {
  secret: string;
  notAfter: Date;
}

export interface StatusReport {
  name: string;
  namespace: string;
  version?: string;
  replicas: number;
  readyReplicas: number;
  paused: boolean;
  leader?: string;
  clientEndpoint?: string;
  conditions: { type: string; status: string; reason: string; message: string }[];
  members: { name: string; id: string; role: string; leader: boolean; healthy: boolean; version?: string; dbSizeBytes?: number; dbSizeInUseBytes?: number }[];
  certificates: { secret: string; notAfter: string; expiresInDays: number }[];
  lastBackup?: { name: string; completionTime?: string; revision?: number; sizeBytes?: number; key?: string };
}

/** The newest successful backup of this cluster object (not an earlier one of its name), by completion time. */
export function newestBackup(backups: EtcdBackup[], cluster: EtcdCluster): EtcdBackup | undefined {
  const done = backups.filter((b) => backupOfCluster(b, cluster) && b.status?.phase === 'Succeeded');
  return done.sort((a, b) => (b.status?.completionTime ?? '').localeCompare(a.status?.completionTime ?? ''))[0];
}

export function buildReport(cluster: EtcdCluster, certificates: CertificateExpiry[], backup: EtcdBackup | undefined, now: Date): StatusReport {
  const status = cluster.status ?? {};
  return {
    name: cluster.metadata.name!,
    namespace: cluster.metadata.namespace!,
    version: status.currentVersion ?? cluster.spec.version,
    replicas: cluster.spec.replicas,
    readyReplicas: status.readyReplicas ?? 0,
    paused: cluster.spec.paused === true,
    leader: status.leader,
    clientEndpoint: status.clientEndpoint,
    conditions: (status.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
    members: (status.members ?? []).map((m) => {
      const extra = m as { dbSizeInUseBytes?: number };
      return { name: m.name, id: m.memberID, role: m.role ?? 'Voter', leader: m.isLeader === true, healthy: m.healthy === true, version: m.version, dbSizeBytes: m.dbSizeBytes, dbSizeInUseBytes: extra.dbSizeInUseBytes };
    }),
    certificates: certificates.map((c) => ({ secret: c.secret, notAfter: c.notAfter.toISOString(), expiresInDays: Math.floor((c.notAfter.getTime() - now.getTime()) / 86_400_000) })),
    lastBackup: backup && {
      name: backup.metadata.name!,
      completionTime: backup.status?.completionTime,
      revision: backup.status?.revision,
      sizeBytes: backup.status?.sizeBytes,
      key: backup.status?.key,
    },
  };
}

/** 1536 -> "1.5 KiB", as kubectl prints quantities a person reads. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Columns padded to their widest cell, separated by three spaces, as kubectl's tables. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('   ')).join('\n') + '\n';
}

export function formatReport(r: StatusReport, now: Date): string {
  const available = r.conditions.find((c) => c.type === 'Available');
  const degraded = r.conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
  const state = degraded ? `Degraded (${degraded.reason})` : available?.status === 'True' ? 'Available' : available ? `Not available (${available.reason})` : 'Unknown';
  const lines = [
    `Cluster:   ${r.namespace}/${r.name}${r.paused ? ' (paused)' : ''}`,
    `State:     ${state}`,
    `Members:   ${r.readyReplicas}/${r.replicas} ready, leader ${r.leader ?? 'none'}`,
    `Version:   ${r.version ?? '-'}`,
    `Endpoint:  ${r.clientEndpoint ?? '-'}`,
    '',
  ];
  let out = lines.join('\n') + '\n';
  if (r.members.length > 0) {
    out += table([
      ['MEMBER', 'ID', 'ROLE', 'LEADER', 'HEALTHY', 'VERSION', 'DB SIZE', 'IN USE'],
      ...r.members.map((m) => [m.name || '(not started)', m.id, m.role, m.leader ? 'yes' : '', m.healthy ? 'yes' : 'NO', m.version ?? '-', bytes(m.dbSizeBytes), bytes(m.dbSizeInUseBytes)]),
    ]);
  } else out += 'No members reported yet.\n';
  out += '\n';
  if (r.certificates.length > 0) out += table([['CERTIFICATE', 'EXPIRES', 'IN'], ...r.certificates.map((c) => [c.secret, c.notAfter, `${c.expiresInDays}d`])]) + '\n';
  if (r.lastBackup) {
    const age = r.lastBackup.completionTime ? `${Math.round((now.getTime() - Date.parse(r.lastBackup.completionTime)) / 60_000)}m ago` : '-';
    out += `Last backup: ${r.lastBackup.name}, ${age}, revision ${r.lastBackup.revision ?? '-'}, ${bytes(r.lastBackup.sizeBytes)}, key ${r.lastBackup.key ?? '-'}\n\n`;
  } else out += 'Last backup: none\n\n';
  if (r.conditions.length > 0) out += table([['CONDITION', 'STATUS', 'REASON', 'MESSAGE'], ...r.conditions.map((c) => [c.type, c.status, c.reason, c.message])]);
  return out;
}
