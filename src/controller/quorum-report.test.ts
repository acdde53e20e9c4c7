import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/types.generated.js';
import { quorumLossEvent } from './quorum-report.js';

const available = (status: 'True' | 'False', message = 'm', reason = status === 'True' ? 'QuorumHealthy' : 'QuorumLost'): Condition[] => [
  { type: 'Available', status, reason, message, lastTransitionTime: '2026-11-23T12:00:00Z' },
];

describe('quorumLossEvent', () => {
  it.each<[string, Condition[] | undefined, Condition[], boolean, boolean]>([
    ['Available True -> False in a formed cluster: one Warning', available('True'), available('False'), true, true],
    ['still False on the next pass: no repeat', available('False'), available('False'), true, false],
    ['a new operator finding no Available condition yet: reported', undefined, available('False'), true, true],
    ['a cluster still bootstrapping: nothing lost', undefined, available('False'), false, false],
    ['back to True: nothing to warn about', available('False'), available('True'), true, false],
    ['False for a cluster ID mismatch: not a lost quorum', available('True'), available('False', 'm', 'ClusterIDMismatch'), true, false],
    ['False for a CORRUPT alarm: not a lost quorum', available('True'), available('False', 'm', 'DataInconsistent'), true, false],
    ['a mismatch resolved into a real loss: reported', available('False', 'm', 'ClusterIDMismatch'), available('False'), true, true],
    ['a leader election (NoLeader): not a lost quorum', available('True'), available('False', 'm', 'NoLeader'), true, false],
    ['an election that lasted into a lost quorum: reported then', available('False', 'm', 'NoLeader'), available('False'), true, true],
  ])('%s', (_name, previous, next, formed, expected) => {
    const event = quorumLossEvent(previous, next, formed);
    expect(event !== undefined).toBe(expected);
    if (event) expect(event).toEqual({ reason: 'QuorumLost', message: 'm' });
  });
});
