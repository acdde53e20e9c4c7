import { describe, expect, it } from 'vitest';
import { type StallSample, type StallWatch, stallLimitMs, watchStall } from './stall.js';

const endpoint = 'https://minio.example:9000';
const start: StallWatch = { moved: 0, stored: 0, lastProgressAtMs: 0 };
const at = (nowMs: number, over: Partial<StallSample> = {}): StallSample => ({ fromMember: 0, stored: 0, nowMs, waitingOn: 'store', ...over });

type Case = [string, StallWatch, StallSample, { stalled: boolean; lastProgressAtMs?: number; reason?: string; says?: string[] }];

const cases: Case[] = [
  ['nothing moved yet, within the limit: wait', start, at(stallLimitMs - 1), { stalled: false, lastProgressAtMs: 0 }],
  ['bytes from the member are progress: the clock starts again', start, at(20_000, { fromMember: 1 }), { stalled: false, lastProgressAtMs: 20_000 }],
  ['a part stored is progress, though the member sends nothing (its bytes are buffered)', { moved: 100, stored: 0, lastProgressAtMs: 0 }, at(29_000, { fromMember: 100, stored: 8 }), { stalled: false, lastProgressAtMs: 29_000 }],
  ['no byte moved for the limit, the store holding it up: StoreStalled naming the endpoint', { moved: 24, stored: 8, lastProgressAtMs: 5_000 }, at(5_000 + stallLimitMs, { fromMember: 16, stored: 8 }), { stalled: true, reason: 'StoreStalled', says: [endpoint, 'accepted no bytes for 30 s', '8 bytes stored'] }],
  ['the store stops answering before the first byte (a HEAD that hangs)', start, at(stallLimitMs), { stalled: true, reason: 'StoreStalled' }],
  ['no byte moved, the upload waiting for the member: the snapshot stream stalled', { moved: 10, stored: 0, lastProgressAtMs: 0 }, at(40_000, { fromMember: 10, waitingOn: 'member' }), { stalled: true, reason: 'SnapshotFailed', says: ['db-0 sent nothing for 40 s'] }],
];

describe('watchStall', () => {
  it.each(cases)('%s', (_name, watch, sample, want) => {
    const verdict = watchStall(watch, sample, stallLimitMs, endpoint, 'db-0');
    expect(verdict.stalled).toBe(want.stalled);
    if (want.lastProgressAtMs !== undefined) expect(verdict.watch.lastProgressAtMs).toBe(want.lastProgressAtMs);
    if (verdict.stalled) {
      expect(verdict.failure).toMatchObject({ reason: want.reason, retryable: true });
      for (const text of want.says ?? []) expect(verdict.failure.message).toContain(text);
    }
  });
});
