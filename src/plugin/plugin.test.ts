import { describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { parseCommandLine } from './args.js';
import { manualBackupName } from './main.js';
import { buildReport, bytes, formatReport, newestBackup } from './status.js';

describe('kubectl etcd command line', () => {
  const cases: [string, string[], unknown][] = [
    ['status with a namespace', ['status', 'a', '-n', 'ns'], { ok: true, globals: { namespace: 'ns', output: 'text' }, command: { verb: 'status', name: 'a' } }],
    ['flags before the verb', ['--namespace=ns', '-o', 'json', 'status', 'a'], { ok: true, globals: { namespace: 'ns', output: 'json' }, command: { verb: 'status', name: 'a' } }],
    ['ctl passes everything after -- to etcdctl', ['ctl', 'a', '--', 'get', '-w', 'json', 'k'], { ok: true, command: { verb: 'ctl', name: 'a', etcdctl: 'etcdctl', args: ['get', '-w', 'json', 'k'] } }],
    ['ctl with endpoints and an etcdctl path', ['ctl', 'a', '--endpoints', 'https://x:2379,https://y:2379', '--etcdctl', '/bin/e', '--', 'endpoint', 'status'], { ok: true, command: { verb: 'ctl', endpoints: ['https://x:2379', 'https://y:2379'], etcdctl: '/bin/e' } }],
    ['backup --wait', ['backup', 'a', '--wait', '--timeout', '30'], { ok: true, command: { verb: 'backup', name: 'a', wait: true, timeoutSeconds: 30 } }],
    ['restore from a backup', ['restore', 'b', '--from-backup', 'a-1', '--replicas', '5', '--version', '3.6.16'], { ok: true, command: { verb: 'restore', name: 'b', fromBackup: 'a-1', replicas: 5, version: '3.6.16', wait: false } }],
    ['recover from the most advanced survivor', ['recover', 'a', '--from-survivor'], { ok: true, command: { verb: 'recover', name: 'a', from: { survivor: undefined } } }],
    ['recover from a named survivor', ['recover', 'a', '--from-survivor', 'a-2'], { ok: true, command: { verb: 'recover', name: 'a', from: { survivor: 'a-2' } } }],
    ['recover from a backup', ['recover', 'a', '--from-backup', 'nightly'], { ok: true, command: { verb: 'recover', name: 'a', from: { backup: 'nightly' } } }],
    ['no verb is help', [], { ok: true, command: { verb: 'help' } }],
    ['-h', ['status', '-h'], { ok: true, command: { verb: 'help' } }],
  ];
  it.each(cases)('%s', (_, argv, want) => expect(parseCommandLine(argv)).toMatchObject(want as object));

  const refused: [string, string[], string][] = [
    ['an unknown verb', ['frob', 'a'], 'unknown command "frob"'],
    ['a verb without a name', ['status'], 'status needs the EtcdCluster'],
    ['two names', ['pause', 'a', 'b'], 'unexpected argument "b"'],
    ['ctl without etcdctl arguments', ['ctl', 'a'], 'ctl needs etcdctl arguments after --'],
    ['arguments after -- for another verb', ['status', 'a', '--', 'x'], 'status takes no arguments after --'],
    ['an unknown output format', ['status', 'a', '-o', 'yaml'], 'unsupported output format "yaml"'],
    ['an unknown flag', ['status', 'a', '--bogus'], "Unknown option '--bogus'"],
    ['a bad timeout', ['backup', 'a', '--timeout', 'soon'], '--timeout must be a whole number'],
    ['restore without a backup', ['restore', 'b'], 'restore needs the EtcdBackup to restore'],
    ['recover without a source', ['recover', 'a'], 'recover needs one source'],
    ['recover with both sources', ['recover', 'a', '--from-survivor', '--from-backup', 'b'], 'recover needs one source'],
    ['recover from a backup with a member', ['recover', 'a', '--from-backup', 'b', 'a-2'], 'unexpected argument "a-2"'],
    ['restore with a bad replica count', ['restore', 'b', '--from-backup', 'a', '--replicas', 'three'], '--replicas must be a whole number'],
  ];
  it.each(refused)('refuses %s with a message', (_, argv, message) => {
    const parsed = parseCommandLine(argv);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toContain(message);
  });
});

describe('kubectl etcd status report', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  const cluster = {
    apiVersion: 'etcd.operator.dev/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'a', namespace: 'ns' },
    spec: { replicas: 3, version: '3.6.16', paused: false },
    status: {
      readyReplicas: 2,
      leader: 'a-1',
      members: [
        { name: 'a-0', memberID: '1', role: 'Voter', isLeader: false, healthy: false, version: '3.6.16', dbSizeBytes: 1536 },
        { name: 'a-1', memberID: '2', role: 'Voter', isLeader: true, healthy: true, version: '3.6.16', dbSizeBytes: 3 * 1048576 },
      ],
      conditions: [{ type: 'Degraded', status: 'True', reason: 'MemberUnhealthy', message: 'a-0 does not answer', lastTransitionTime: now.toISOString() }],
    },
  } as unknown as EtcdCluster;
  const backup = (name: string, phase: string, completionTime: string) => ({ metadata: { name }, spec: { clusterName: 'a' }, status: { phase, completionTime, revision: 7, sizeBytes: 2048, key: `k/${name}` } }) as unknown as EtcdBackup;

  it('picks the newest successful backup of this cluster', () => {
    const backups = [backup('old', 'Succeeded', '2026-11-29T00:00:00Z'), backup('new', 'Succeeded', '2026-11-30T11:00:00Z'), backup('failed', 'Failed', '2026-11-30T11:30:00Z')];
    expect(newestBackup(backups, cluster)?.metadata.name).toBe('new');
    expect(newestBackup(backups, { ...cluster, metadata: { ...cluster.metadata, name: 'b' } })).toBeUndefined();
    // One of an earlier cluster of the same name (another UID recorded) is not this one's.
    const earlier = { ...backup('newest', 'Succeeded', '2026-11-30T12:00:00Z'), status: { phase: 'Succeeded', completionTime: '2026-11-30T12:00:00Z', clusterUID: 'another-uid' } } as unknown as EtcdBackup;
    expect(newestBackup([...backups, earlier], cluster)?.metadata.name).toBe('new');
  });

  it('says which member is unhealthy, the certificate expiry in days and the last backup age', () => {
    const report = buildReport(cluster, [{ secret: 'a-ca', notAfter: new Date('2027-11-30T12:00:00Z') }], backup('new', 'Succeeded', '2026-11-30T11:00:00Z'), now);
    const text = formatReport(report, now);
    expect(text).toMatch(/State:\s+Degraded \(MemberUnhealthy\)/);
    expect(text).toMatch(/a-0\s+1\s+Voter\s+NO\s+3\.6\.16\s+1\.5 KiB/);
    expect(text).toMatch(/a-1\s+2\s+Voter\s+yes\s+yes\s+3\.6\.16\s+3\.0 MiB/);
    expect(text).toMatch(/a-ca\s+2027-11-30T12:00:00.000Z\s+365d/);
    expect(text).toContain('Last backup: new, 60m ago, revision 7, 2.0 KiB');
  });

  it('formats sizes and names manual backups apart from scheduled ones', () => {
    expect([bytes(undefined), bytes(0), bytes(1023), bytes(1024), bytes(5 * 1073741824)]).toEqual(['-', '0 B', '1023 B', '1.0 KiB', '5.0 GiB']);
    expect(manualBackupName('a', now)).toBe('a-manual-20261130t120000');
  });
});
