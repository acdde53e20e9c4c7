import { describe, expect, it } from 'vitest';
import { type RetainedBackup, type RetentionPolicy, planRetention } from './retention.js';

const now = new Date('2026-01-10T00:00:00Z');
const day = 86_400_000;
/** A backup `daysAgo` old, named after its age. */
const b = (daysAgo: number, phase: RetainedBackup['phase'] | 'Running' = 'Succeeded'): RetainedBackup => ({ name: `${phase}-${daysAgo}`, phase: phase === 'Running' ? undefined : phase, slot: new Date(now.getTime() - daysAgo * day), key: `k-${daysAgo}` });

const cases: [string, RetainedBackup[], RetentionPolicy, string[]][] = [
  ['no policy keeps everything', [b(1), b(2), b(30)], {}, []],
  ['keepLast 3 of 5 deletes the two oldest, oldest first', [b(1), b(2), b(3), b(4), b(5)], { keepLast: 3 }, ['Succeeded-5', 'Succeeded-4']],
  ['keepLast counts successes only: failures do not push successes out', [b(1, 'Failed'), b(2), b(3, 'Failed'), b(4)], { keepLast: 2 }, []],
  ['failures are kept by the same count', [b(1, 'Failed'), b(2, 'Failed'), b(3, 'Failed'), b(4)], { keepLast: 2 }, ['Failed-3']],
  ['a running backup is never a candidate', [b(0, 'Running'), b(1), b(2)], { keepLast: 1 }, ['Succeeded-2']],
  ['maxAge deletes old ones', [b(1), b(5), b(9)], { maxAgeMs: 4 * day }, ['Succeeded-9', 'Succeeded-5']],
  ['maxAge never deletes the newest success', [b(8), b(9)], { maxAgeMs: 4 * day }, ['Succeeded-9']],
  ['maxAge deletes old failures, even the newest', [b(8, 'Failed'), b(1)], { maxAgeMs: 4 * day }, ['Failed-8']],
  ['both limits: either one deletes', [b(1), b(2), b(3), b(9)], { keepLast: 3, maxAgeMs: 2.5 * day }, ['Succeeded-9', 'Succeeded-3']],
  ['keepLast 0 still keeps the newest success', [b(1), b(2)], { keepLast: 0 }, ['Succeeded-2']],
  ['a backup a restore reads from is kept past its count and age; the others still go', [b(1), b(2), { ...b(3), inUse: true }, b(9)], { keepLast: 1, maxAgeMs: 2.5 * day }, ['Succeeded-9', 'Succeeded-2']],
];

describe('planRetention', () => {
  it.each(cases)('%s', (_name, backups, policy, want) => {
    expect(planRetention(backups, policy, now).map((x) => x.name)).toEqual(want);
  });

  it('does not reorder or change its input', () => {
    const input = [b(3), b(1), b(2)];
    const copy = structuredClone(input);
    planRetention(input, { keepLast: 1 }, now);
    expect(input).toEqual(copy);
  });
});
