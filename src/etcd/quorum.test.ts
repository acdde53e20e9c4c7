import { describe, expect, it } from 'vitest';
import { quorum, quorumLost, quorumMargin, voterHealth } from './quorum.js';

describe('quorum arithmetic', () => {
  it.each([
    [1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [6, 4], [7, 4],
  ])('%i voters need %i', (voters, needed) => {
    expect(quorum(voters)).toBe(needed);
  });

  it.each([
    // voters, healthy, margin, lost
    [3, 3, 1, false],
    [3, 2, 0, false],
    [3, 1, -1, true],
    [5, 3, 0, false],
    [5, 2, -1, true],
    [1, 0, -1, true],
    [0, 0, -1, false],
  ])('%i voters with %i healthy: margin %i, lost %s', (voters, healthy, margin, lost) => {
    expect(quorumMargin(voters, healthy)).toBe(margin);
    expect(quorumLost({ voters, healthy })).toBe(lost);
  });

  it('counts voters only: learners do not vote', () => {
    const members = [
      { isLearner: false, healthy: true },
      { isLearner: false, healthy: false },
      { isLearner: true, healthy: true },
    ];
    expect(voterHealth(members)).toEqual({ voters: 2, healthy: 1 });
  });
});
