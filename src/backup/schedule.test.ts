import { describe, expect, it } from 'vitest';
import { scheduledBackupName } from '../resources/names.js';
import { type Cron, parseCron } from './cron.js';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import { BackupInputError } from './kube.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { backupsInUse, planSchedule, retentionFailure } from './schedule.js';

const cron = (expr: string): Cron => {
  const c = parseCron(expr);
  if ('error' in c) throw new Error(c.error);
  return c;
};
const at = (iso: string) => new Date(iso);
const everyMinute = cron('* * * * *');

describe('planSchedule (injected clock)', () => {
  it('creates the backup of the newest slot since the last one, and looks again at the next slot', () => {
    const plan = planSchedule({ cron: everyMinute, suspend: false, since: at('2026-01-01T00:00:00Z'), backups: [], now: at('2026-01-01T00:03:20Z') });
    expect(plan.create?.toISOString()).toBe('2026-01-01T00:03:00.000Z');
    expect(plan.requeueAfterMs).toBe(40_000);
  });

  it('creates nothing when the newest slot is backed up already', () => {
    const plan = planSchedule({ cron: everyMinute, suspend: false, since: at('2026-01-01T00:03:00Z'), backups: [], now: at('2026-01-01T00:03:59Z') });
    expect(plan.create).toBeUndefined();
  });

  it('creates nothing while suspended, but still applies retention', () => {
    const old = { name: 'a', phase: 'Succeeded' as const, slot: at('2026-01-01T00:00:00Z') };
    const newer = { name: 'b', phase: 'Succeeded' as const, slot: at('2026-01-01T00:01:00Z') };
    const plan = planSchedule({ cron: everyMinute, suspend: true, since: at('2026-01-01T00:01:00Z'), backups: [old, newer], keepLast: 1, now: at('2026-01-01T00:05:00Z') });
    expect(plan.create).toBeUndefined();
    expect(plan.remove.map((b) => b.name)).toEqual(['a']);
  });

  it('over five minutes with retention 3: five backups created, three kept', () => {
    let since = at('2026-01-01T00:00:00Z');
    const backups: { name: string; phase: 'Succeeded'; slot: Date }[] = [];
    for (let minute = 1; minute <= 5; minute++) {
      const now = new Date(since.getTime() + 60_000 + 5_000);
      const plan = planSchedule({ cron: everyMinute, suspend: false, since, backups, keepLast: 3, now });
      expect(plan.create).toBeDefined();
      since = plan.create!;
      backups.push({ name: scheduledBackupName({ namespace: 'ns', name: 'db' }, since), phase: 'Succeeded', slot: since });
      for (const gone of plan.remove) backups.splice(backups.findIndex((b) => b.name === gone.name), 1);
    }
    const final = planSchedule({ cron: everyMinute, suspend: false, since, backups, keepLast: 3, now: new Date(since.getTime() + 1_000) });
    for (const gone of final.remove) backups.splice(backups.findIndex((b) => b.name === gone.name), 1);
    expect(backups.map((b) => b.name)).toEqual(['db-202601010003', 'db-202601010004', 'db-202601010005']);
  });
});

describe('retentionFailure: why a scheduled backup could not be deleted', () => {
  const backup = { metadata: { name: 'db-202601010000' }, spec: { clusterName: 'db', compression: 'none', destination: { endpoint: 'https://s3.example', bucket: 'b', region: 'r', forcePathStyle: true, credentialsSecretRef: { name: 's3' } } }, status: { phase: 'Succeeded', bucket: 'b', key: 'ns/db/db-202601010000.db' } } as EtcdBackup;
  const refused = Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  const unreachable = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  it.each([
    ['a missing credentials Secret', new BackupInputError({ reason: 'CredentialsSecretInvalid', message: 'Secret s3 does not exist; create it, then create a new EtcdBackup', retryable: false }), 'CredentialsSecretInvalid', /Secret s3 does not exist; create it\. The backup and its object are kept/],
    ['refused credentials', refused, 'CredentialsRejected', /refused the credentials .*secretAccessKey\. The backup/],
    ['a store nobody answers for', unreachable, 'EndpointUnreachable', /could not reach https:\/\/s3\.example \(ECONNREFUSED\)\. The backup/],
  ])('%s: its reason, the object named, and no advice to create a new EtcdBackup', (_, err, reason, message) => {
    const failure = retentionFailure(err, backup);
    expect(failure.reason).toBe(reason);
    expect(failure.message).toMatch(/^retention could not delete s3:\/\/b\/ns\/db\/db-202601010000\.db: /);
    expect(failure.message).toMatch(message);
    expect(failure.message).not.toContain('new EtcdBackup');
  });
});

describe('backupsInUse: what retention must not delete yet', () => {
  const cluster = (spec: Partial<EtcdCluster['spec']>, status: EtcdCluster['status'] = {}) => ({ metadata: { name: 'x' }, spec, status }) as EtcdCluster;
  it.each([
    ['a restore that has not formed its cluster', cluster({ restore: { backupName: 'db-1' } }), ['db-1']],
    ['a restore whose cluster formed: done with it', cluster({ restore: { backupName: 'db-1' } }, { clusterID: 'abc' }), []],
    ['a restore from destination and key names no EtcdBackup', cluster({ restore: { destination: { endpoint: 'e', bucket: 'b', region: 'r', forcePathStyle: true, credentialsSecretRef: { name: 's' } }, key: 'k' } }), []],
    ['a recovery asked for', cluster({ recovery: { fromBackup: { backupName: 'db-2' } } } as Partial<EtcdCluster['spec']>), ['db-2']],
    ['a recovery under way after its consent was removed', cluster({}, { recovery: { phase: 'Restoring', consent: { fromBackup: { backupName: 'db-3' } } } }), ['db-3']],
    ['a recovery that succeeded', cluster({}, { recovery: { phase: 'Succeeded', consent: { fromBackup: { backupName: 'db-3' } } } }), []],
  ])('%s', (_, c, want) => {
    expect([...backupsInUse([c])]).toEqual(want);
  });
});
