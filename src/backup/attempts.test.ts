import { describe, expect, it } from 'vitest';
import { AttemptError } from './attempt.js';
import { Attempts } from './attempts.js';
import type { BackupResult } from './plan.js';

const result = { member: 'db-0', revision: 1, clusterID: 'a', clusterUID: 'c-1', etcdVersion: '3.6.16', snapshotSizeBytes: 1, snapshotSha256: 'a', sizeBytes: 1, sha256: 'a', bucket: 'b', key: 'k', durationMs: 1 } satisfies BackupResult;

function deferred() {
  let resolve!: (r: BackupResult) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<BackupResult>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('Attempts', () => {
  const parent = new AbortController().signal;

  it('reports running, then the outcome with when it finished, and queues the backup once done', async () => {
    let now = 1_000;
    const attempts = new Attempts(() => now);
    const task = deferred();
    let done = 0;
    attempts.start('ns/b', 'uid-1', { key: 'ns/db', uid: 'c-1' }, 1, () => task.promise, parent, () => done++);
    expect(attempts.get('ns/b', 'uid-1')).toMatchObject({ state: 'running', number: 1, startedAtMs: 1_000, reported: false });
    expect(attempts.busyWith('ns/db', 'ns/other')).toBe('ns/b');
    expect(attempts.busyWith('ns/db', 'ns/b')).toBeUndefined();
    now = 5_000;
    task.resolve(result);
    await new Promise((r) => setTimeout(r, 0));
    expect(done).toBe(1);
    expect(attempts.get('ns/b', 'uid-1')).toMatchObject({ state: 'succeeded', result, atMs: 5_000 });
    expect(attempts.busyWith('ns/db', 'ns/other')).toBeUndefined();
  });

  it('keeps the failure an attempt reported, and makes an unexpected error a retryable one', async () => {
    const attempts = new Attempts(() => 0);
    attempts.start('ns/a', 'u', { key: 'ns/db', uid: 'c-1' }, 1, () => Promise.reject(new AttemptError({ reason: 'BucketNotFound', message: 'x', retryable: false })), parent, () => undefined);
    attempts.start('ns/b', 'u', { key: 'ns/db', uid: 'c-1' }, 1, () => Promise.reject(new Error('boom')), parent, () => undefined);
    await new Promise((r) => setTimeout(r, 0));
    expect(attempts.get('ns/a', 'u')).toMatchObject({ state: 'failed', failure: { reason: 'BucketNotFound', retryable: false } });
    expect(attempts.get('ns/b', 'u')).toMatchObject({ state: 'failed', failure: { reason: 'UploadFailed', message: 'boom', retryable: true } });
  });

  it('does not mistake a recreated backup (new UID) for the old one', () => {
    const attempts = new Attempts(() => 0);
    attempts.start('ns/b', 'old', { key: 'ns/db', uid: 'c-1' }, 1, () => new Promise(() => undefined), parent, () => undefined);
    expect(attempts.get('ns/b', 'new')).toBeUndefined();
  });

  it('aborts a running attempt when its backup is deleted, and when the operator stops', () => {
    const attempts = new Attempts(() => 0);
    const signals: AbortSignal[] = [];
    const hold = (signal: AbortSignal) => (signals.push(signal), new Promise<BackupResult>(() => undefined));
    attempts.start('ns/a', 'u', { key: 'ns/db', uid: 'c-1' }, 1, hold, parent, () => undefined);
    attempts.start('ns/b', 'u', { key: 'ns/db2', uid: 'c-1' }, 1, hold, parent, () => undefined);
    attempts.cancel('ns/a');
    expect(signals[0]!.aborted).toBe(true);
    expect(attempts.get('ns/a', 'u')).toBeUndefined();
    attempts.abortAll('shutdown');
    expect(signals[1]!.aborted).toBe(true);
  });

  it('stop records the failure at once, aborts the task, and the aborted task\'s own error does not replace it', async () => {
    const attempts = new Attempts(() => 7);
    let signal!: AbortSignal;
    let done = 0;
    attempts.start('ns/b', 'u', { key: 'ns/db', uid: 'c-1' }, 1, (s) => ((signal = s), new Promise<BackupResult>((_, reject) => s.addEventListener('abort', () => reject(new Error('aborted'))))), parent, () => done++);
    const gone = { reason: 'ClusterNotFound', message: 'deleted', retryable: false } as const;
    attempts.stop('ns/b', gone);
    expect(signal.aborted).toBe(true);
    expect(attempts.get('ns/b', 'u')).toMatchObject({ state: 'failed', failure: gone, atMs: 7, clusterUID: 'c-1' });
    await new Promise((r) => setTimeout(r, 0));
    expect(done).toBe(1);
    expect(attempts.get('ns/b', 'u')).toMatchObject({ state: 'failed', failure: gone });
    expect(attempts.busyWith('ns/db', 'ns/other')).toBeUndefined();
  });

  it('a running attempt shows the progress it reports; once settled, a late report changes nothing', async () => {
    const attempts = new Attempts(() => 9);
    let report!: (p: { storedBytes: number; lastProgressAtMs: number }) => void;
    let finish!: (r: BackupResult) => void;
    attempts.start('ns/b', 'u', { key: 'ns/db', uid: 'c-1' }, 1, (_s, r) => ((report = r), new Promise<BackupResult>((resolve) => (finish = resolve))), parent, () => undefined);
    expect(attempts.get('ns/b', 'u')).toMatchObject({ state: 'running' });
    report({ storedBytes: 16, lastProgressAtMs: 5 });
    expect(attempts.get('ns/b', 'u')).toMatchObject({ state: 'running', progress: { storedBytes: 16, lastProgressAtMs: 5 } });
    finish({} as BackupResult);
    await new Promise((r) => setTimeout(r, 0));
    report({ storedBytes: 32, lastProgressAtMs: 6 });
    expect(attempts.get('ns/b', 'u')).toMatchObject({ state: 'succeeded' });
  });

  it('remembers that the outcome was reported', () => {
    const attempts = new Attempts(() => 0);
    attempts.start('ns/b', 'u', { key: 'ns/db', uid: 'c-1' }, 2, () => new Promise(() => undefined), parent, () => undefined);
    attempts.markReported('ns/b');
    expect(attempts.get('ns/b', 'u')).toMatchObject({ reported: true, number: 2 });
  });
});
