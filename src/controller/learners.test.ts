import { describe, expect, it } from 'vitest';
import { sampleCluster } from '../resources/fixtures.js';
import { buildMembershipConfig, parseMembershipConfig } from '../resources/membership-config.js';
import { describeTimeout, nextLearnerRecords, retryDelayMs } from './learners.js';

const now = new Date('2026-01-01T12:00:00Z');
const earlier = '2026-01-01T11:58:00.000Z';
const voter = (id: string, ordinal: number) => ({ id, ordinal, isLearner: false });
const learner = (id: string, ordinal: number) => ({ id, ordinal, isLearner: true });
const retry = { memberId: '7', ordinal: 3, addedAt: earlier, why: 'notStarted' as const, failures: 1, retryAt: '2026-01-01T12:05:00.000Z' };
const three = [voter('1', 0), voter('2', 1), voter('3', 2)];

describe('nextLearnerRecords', () => {
  it('records a new learner at the time of this pass, and keeps the recorded time after', () => {
    expect(nextLearnerRecords({}, [...three, learner('9', 3)], 5, now)).toEqual({ learner: { memberId: '9', ordinal: 3, addedAt: now.toISOString() } });
    const kept = { learner: { memberId: '9', ordinal: 3, addedAt: earlier } };
    expect(nextLearnerRecords(kept, [...three, learner('9', 3)], 5, now)).toEqual(kept);
  });

  it('starts a new clock for a different learner than the one recorded', () => {
    const next = nextLearnerRecords({ learner: { memberId: '8', ordinal: 3, addedAt: earlier } }, [...three, learner('9', 3)], 5, now);
    expect(next.learner).toEqual({ memberId: '9', ordinal: 3, addedAt: now.toISOString() });
  });

  it('keeps the retry record while the scale-up is unfinished', () => {
    expect(nextLearnerRecords({ learnerRetry: retry }, three, 5, now)).toEqual({ learnerRetry: retry });
    expect(nextLearnerRecords({ learnerRetry: retry }, [...three, learner('9', 3)], 5, now).learnerRetry).toEqual(retry);
  });

  it('drops the retry record once a learner was promoted', () => {
    const next = nextLearnerRecords({ learner: { memberId: '9', ordinal: 3, addedAt: earlier }, learnerRetry: retry }, [...three, voter('9', 3)], 5, now);
    expect(next).toEqual({});
  });

  it('drops the retry record when no member is wanted any more (scaled back down)', () => {
    expect(nextLearnerRecords({ learnerRetry: retry }, three, 3, now)).toEqual({});
  });

  it('changes nothing when etcd did not answer', () => {
    const previous = { learner: { memberId: '9', ordinal: 3, addedAt: earlier }, learnerRetry: retry };
    expect(nextLearnerRecords(previous, undefined, 3, now)).toBe(previous);
  });
});

describe('retry delays', () => {
  it('doubles with each timeout in a row, at most 8 times the timeout', () => {
    expect([1, 2, 3, 4, 5, 9].map((f) => retryDelayMs(60_000, f) / 60_000)).toEqual([1, 2, 4, 8, 8, 8]);
  });

  it('says which member, since when, why and when the add is tried again', () => {
    expect(describeTimeout({ name: 'main', namespace: 'db' }, retry)).toBe(
      'learner main-3 (7), added at 2026-01-01T11:58:00.000Z, had not started by its deadline: removed, adding again after 2026-01-01T12:05:00.000Z (timeout 1 in a row)',
    );
  });
});

describe('learner records in the membership ConfigMap', () => {
  it('survive a write and a read, as the only memory of a restarted operator', () => {
    const records = { learner: { memberId: '18446744073709551615', ordinal: 3, addedAt: earlier }, learnerRetry: retry };
    const cm = buildMembershipConfig(sampleCluster(), { state: 'existing', ordinals: [0, 1, 2], memberVolumes: {}, ...records });
    expect(parseMembershipConfig(cm)).toMatchObject(records);
  });

  it('are absent keys when there is nothing to record, so an apply drops old ones', () => {
    const cm = buildMembershipConfig(sampleCluster(), { state: 'existing', ordinals: [0], memberVolumes: {} });
    expect(Object.keys(cm.data!)).toEqual(['initial-cluster', 'initial-cluster-state', 'member-volumes']);
  });

  it('read as none when malformed: the clock starts again rather than guessing', () => {
    const cm = buildMembershipConfig(sampleCluster(), { state: 'existing', ordinals: [0], memberVolumes: {} });
    const parsed = parseMembershipConfig({ ...cm, data: { ...cm.data, learner: '{"memberId":12}', 'learner-retry': 'not json' } });
    expect(parsed?.learner).toBeUndefined();
    expect(parsed?.learnerRetry).toBeUndefined();
  });
});
