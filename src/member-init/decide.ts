/**
 * The start guard's rule, pure: may etcd start on this volume now?
 *
 * etcd takes a member's identity from its data directory when it has one, and otherwise from the
 * cluster: started empty with `--initial-cluster-state=existing`, it adopts whichever member has
 * its peer URL. If that member already ran (it published its name and client URLs), its log is
 * gone and it would vote with nothing: a lagging majority could then elect a leader that misses
 * acknowledged writes. etcd's rule is that such a member is removed and re-added as a new one;
 * the guard makes the pod wait until the operator has done that.
 *
 * - A volume with a write-ahead log starts: etcd restarts from its own data. Except when that log
 *   belongs to a member the cluster removed, and every member that answers gives this peer URL
 *   to a new member that never ran (the operator re-added the ordinal, say after a learner timed
 *   out, on a retained volume): etcd would start as the removed member, be refused by its peers
 *   and exit, again on every restart, while the new member never starts. A removed member can
 *   never come back (etcd never reuses an ID) and its log holds nothing the cluster lacks, so the
 *   guard discards it and looks again as for an empty volume. Removed and not yet added again
 *   everywhere, the guard waits: started, etcd would only be refused and exit.
 * - Empty, joining an existing cluster: start only when every member that answers lists this
 *   peer URL as a member that never ran: the operator's fresh learner for this volume, or an
 *   initial member that never came up (it published nothing, so the cluster has no trace of it
 *   running; the one window left is a bootstrap member that acknowledged entries and died in the
 *   milliseconds before publishing). Nobody answering proves nothing, so the pod waits.
 * - Empty, bootstrapping (`new`): start unless a member that answers shows this member already
 *   ran (the cluster formed and this volume was replaced before the operator switched the
 *   membership to `existing`). Nobody answering is the normal bootstrap: peers serve nothing
 *   before they have a quorum.
 */

/** A member as another member lists it (serializable member list: needs no quorum). */
export interface ListedMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface GuardInput {
  /** The data directory holds a write-ahead log. */
  hasData: boolean;
  /** The member that log belongs to (its ID, decimal), when it could be read. */
  walMemberId?: string;
  state: 'new' | 'existing';
  /** This member's advertised peer URL. */
  peerURL: string;
  /** Member lists from the peers that answered, with who answered. */
  views: { reportedBy: string; members: ListedMember[] }[];
}

/** `lostMember`: the member whose data this volume lost (it ran, the volume is empty): the guard holds it for good. */
export type Verdict = { start: true; reason: string } | { start: false; reason: string; discard?: true; lostMember?: string };

/** A member publishes its name and client URLs once it runs; a fresh add has neither. */
export function hasRun(m: ListedMember): boolean {
  return m.name !== '' && m.clientURLs.length > 0;
}

/** The log is a removed member's: no view lists its ID, and every one gives the URL to a new member. */
function removedMembersLog(input: GuardInput): string | undefined {
  const wal = input.walMemberId;
  if (wal === undefined || input.views.length === 0) return undefined;
  if (input.views.some((v) => v.members.some((m) => m.id === wal))) return undefined;
  const owners = input.views.map((v) => v.members.find((m) => m.peerURLs.includes(input.peerURL)));
  if (!owners.every((m) => m !== undefined && m.id !== wal && !hasRun(m))) return undefined;
  return `the volume holds the log of member ${wal}, which the cluster removed, and ${input.peerURL} now belongs to new member ${owners[0]!.id} (per ${input.views.length} member(s)): etcd would start as the removed member and be refused, so the old log is discarded`;
}

/**
 * The log is a removed member's and not every view gives this peer URL to a new member yet (the
 * operator has not added it again, or a view lags behind the add): etcd would start as the removed
 * member, be refused by its peers and exit, on every restart (a container restart does not run
 * the guard again). Waiting here instead lets removedMembersLog discard it once the operator has
 * added this volume as a new member.
 */
function removedAwaitingReadd(input: GuardInput): string | undefined {
  const wal = input.walMemberId;
  if (wal === undefined || input.views.length === 0) return undefined;
  if (input.views.some((v) => v.members.some((m) => m.id === wal || (m.peerURLs.includes(input.peerURL) && hasRun(m))))) return undefined;
  return `the volume holds the log of member ${wal}, which the cluster removed, and not every member answering (${input.views.length}) gives ${input.peerURL} to a new member yet: etcd would be refused as the removed member, so the guard waits for the operator to add this volume as a new member`;
}

export function decide(input: GuardInput): Verdict {
  if (input.hasData) {
    const removed = removedMembersLog(input);
    if (removed) return { start: false, discard: true, reason: removed };
    const waiting = removedAwaitingReadd(input);
    if (waiting) return { start: false, reason: waiting };
    return { start: true, reason: 'the volume holds a data directory' };
  }
  const mine = input.views.map((v) => ({ by: v.reportedBy, member: v.members.find((m) => m.peerURLs.includes(input.peerURL)) }));
  const ran = mine.find((v) => v.member && hasRun(v.member));
  if (ran) {
    return {
      start: false,
      lostMember: ran.member!.id,
      reason: `the volume is empty but member ${ran.member!.id} (${ran.member!.name}) already ran with peer URL ${input.peerURL} (per member ${ran.by}): its data is lost, and it may only come back as a new member once the operator removed it and added this volume`,
    };
  }
  if (input.state === 'new') {
    const absent = mine.find((v) => !v.member);
    if (absent) return { start: false, reason: `the volume is empty and member ${absent.by} does not list ${input.peerURL}: the cluster formed without it` };
    return { start: true, reason: mine.length === 0 ? 'bootstrapping: no member answers yet' : 'bootstrapping: this member has not run yet' };
  }
  if (mine.length === 0) return { start: false, reason: 'the volume is empty and no member answers: nothing shows that it was added as a new member' };
  const absent = mine.find((v) => !v.member);
  if (absent) return { start: false, reason: `the volume is empty and member ${absent.by} does not list ${input.peerURL} yet: waiting for the operator to add it` };
  const member = mine[0]!.member!;
  return { start: true, reason: `${member.isLearner ? 'added as learner' : 'initial member'} ${member.id}, never started (per ${mine.length} member(s))` };
}
