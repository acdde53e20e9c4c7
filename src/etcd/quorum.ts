/**
 * Raft's majority arithmetic, in one place: the status (Available), the metrics (quorum margin),
 * the planner's quorum gate and the PodDisruptionBudget all count the same way.
 */

/** Members needed for a majority. */
export function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** How many more voters may fail before quorum is lost; negative once it is lost. */
export function quorumMargin(voters: number, healthyVoters: number): number {
  return healthyVoters - quorum(voters);
}

/** Voting members and how many of them are healthy. Learners do not vote and are not counted. */
export interface VoterHealth {
  voters: number;
  healthy: number;
}

/** Counts the voters of a member list. */
export function voterHealth(members: readonly { isLearner: boolean; healthy: boolean }[]): VoterHealth {
  const voters = members.filter((m) => !m.isLearner);
  return { voters: voters.length, healthy: voters.filter((m) => m.healthy).length };
}

/** Fewer healthy voters than a majority: nothing can be committed, membership included. */
export function quorumLost(v: VoterHealth): boolean {
  return v.voters > 0 && quorumMargin(v.voters, v.healthy) < 0;
}
