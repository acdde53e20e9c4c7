import { describe, expect, it } from 'vitest';
import type { MembershipObservation, ObservedMember } from './membership.js';
import { startsAhead } from './start-ahead.js';

const m = (ordinal: number | undefined): ObservedMember => ({ id: String(1000 + (ordinal ?? 99)), ordinal, started: true, isLearner: false, healthy: true, isLeader: ordinal === 0, caughtUp: true });
const three = [m(0), m(1), m(2)];
const obs = (over: Partial<MembershipObservation>): MembershipObservation => ({ desired: 3, statefulSetReplicas: 3, knownMembers: 3, members: three, volumes: [], recordedMembers: new Set(), learnerTimeoutMs: 300_000, now: 0, ...over });

// The StatefulSet size a scale-up runs at before and between its adds.
const cases: [string, Partial<MembershipObservation>, ObservedMember[], number][] = [
  ['nothing to add: what the members need', {}, three, 3],
  ['3 -> 5: a pod for each member still to add', { desired: 5 }, three, 5],
  ['3 -> 7, one learner added: the rest', { desired: 7 }, [...three, m(3)], 7],
  ['scaling down: only what the members need', { desired: 1 }, three, 3],
  ['a free ordinal below the highest member is added first, its pod exists', { desired: 4 }, [m(0), m(2)], 4],
  ['the free ordinal below covers the whole scale-up', { desired: 3 }, [m(0), m(2)], 3],
  ['stops below a removed member\'s volume', { desired: 7, volumes: [{ ordinal: 4, memberId: '7' }] }, three, 4],
  ['stops below an older cluster\'s volume', { desired: 5, volumes: [{ ordinal: 3, memberId: undefined, predatesCluster: true }] }, three, 3],
  ['stops below a volume being deleted', { desired: 5, leavingVolumes: [3] }, three, 3],
  ['a volume no member ran on is fresh', { desired: 5, volumes: [{ ordinal: 3, memberId: undefined }] }, three, 5],
  ['none during the wait after a learner timed out', { desired: 5, now: 0, learnerRetry: { memberId: '5', ordinal: 3, addedAt: new Date(0).toISOString(), why: 'notStarted', failures: 1, retryAt: new Date(1).toISOString() } }, three, 3],
  ['a foreign member counts toward the size, not toward the ordinals', { desired: 5 }, [...three, m(undefined)], 4],
];

describe('startsAhead', () => {
  it.each(cases)('%s', (_name, over, members, expected) => {
    expect(startsAhead(obs({ ...over, members }), members)).toBe(expected);
  });
});
