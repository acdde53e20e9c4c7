/**
 * A downgrade by one minor release (3.6 -> 3.5) through etcd's downgrade API. Pure; asked every
 * pass, before the membership planner's restarts are carried out.
 *
 * Swapping a 3.6 binary for 3.5 on its data is unsafe: 3.5 does not know what 3.6 may have
 * written. etcd's way, in words:
 * - Enable: once every member is a healthy, caught-up voter, validate then enable the downgrade
 *   to the target minor. The leader lowers the cluster version to it, and each 3.6 member then
 *   migrates its data to the target's storage version.
 * - Right after an upgrade the cluster version may still read the target while every member runs
 *   the newer minor: wait for the leader to raise it, then enable (not a plain roll).
 * - Wait until the cluster version reads the target and every member still on the newer minor
 *   reports the target storage version. Until then no member restarts (the roll is held).
 * - Roll: members move to the target image one at a time, leader last (roll.ts does that, as
 *   for an upgrade). When all run the target, etcd ends the downgrade by itself.
 * - Cancel: spec.version back on the newer minor while every member runs it and etcd still
 *   holds the downgrade: cancel, and etcd raises the cluster version again. (etcd 3.6.16 accepts
 *   a cancel with no downgrade under way, so only its own record of one may trigger it.)
 */
import type { MemberVersions } from '../etcd/types.js';
import { parseVersion } from '../api/version.js';

export interface DowngradeMember {
  label: string;
  /** What its `/version` said; undefined when it did not answer. */
  versions: MemberVersions | undefined;
}

export interface DowngradeObservation {
  /** spec.version. */
  desired: string;
  members: DowngradeMember[];
  /** Why no member may restart now (roll.ts rollBlocker), or undefined. */
  blocker: string | undefined;
}

export type DowngradePlan =
  /** Nothing of a downgrade: the roll goes on as usual. */
  | { kind: 'none' }
  /** Validate, then enable the downgrade to `target` (`MAJOR.MINOR`). Holds restarts. */
  | { kind: 'enable'; target: string; detail: string }
  /** Cancel the downgrade to `target`. Holds restarts. */
  | { kind: 'cancel'; target: string; detail: string }
  /** A downgrade is wanted or under way and no member may restart yet. */
  | { kind: 'wait'; detail: string }
  /** The cluster is ready for the target binaries: restarts go on, one member at a time. */
  | { kind: 'roll'; detail: string };

/** `MAJOR.MINOR` of a version, or undefined when it is not one. */
function minorOf(text: string | undefined): { major: number; minor: number } | undefined {
  const v = text === undefined ? undefined : parseVersion(text);
  return v ? { major: v.major, minor: v.minor } : undefined;
}

const rank = (m: { major: number; minor: number }) => m.major * 1000 + m.minor;
const show = (m: { major: number; minor: number }) => `${m.major}.${m.minor}`;

export function planDowngrade(o: DowngradeObservation): DowngradePlan {
  const target = minorOf(o.desired);
  const known = o.members.flatMap((m) => (m.versions ? [{ label: m.label, v: m.versions, server: minorOf(m.versions.server) }] : []));
  const cluster = minorOf(known[0]?.v.cluster);
  if (!target || !cluster || known.length === 0) return { kind: 'none' };
  const servers = known.flatMap((k) => (k.server ? [rank(k.server)] : []));
  const newest = Math.max(...servers);
  // etcd's own record (3.6 members report it); a cluster version read alone misleads while the
  // leader is still raising it after an upgrade or at bootstrap.
  const enabled = minorOf(known.find((k) => k.v.downgradeTarget)?.v.downgradeTarget);
  if (rank(target) >= newest) {
    // Back on the newer minor before any member moved: cancel the downgrade etcd still holds.
    const allBack = known.length === o.members.length && servers.length === known.length && servers.every((s) => s === rank(target));
    if (allBack && enabled) return { kind: 'cancel', target: show(enabled), detail: `spec.version ${o.desired} is the members' minor release again: cancelling the downgrade to ${show(enabled)}` };
    return { kind: 'none' };
  }
  const silent = o.members.find((m) => !m.versions);
  if (silent) return { kind: 'wait', detail: `downgrade to ${show(target)}: waiting for ${silent.label} to report its versions` };
  if (newest - rank(target) !== 1) return { kind: 'wait', detail: `downgrade to ${show(target)}: etcd goes back one minor release at a time, members run ${Math.floor(newest / 1000)}.${newest % 1000}` };
  if (enabled && rank(enabled) !== rank(target)) return { kind: 'wait', detail: `downgrade to ${show(target)}: etcd holds a downgrade to ${show(enabled)}; cancel it first` };
  if (rank(cluster) > rank(target)) {
    if (enabled) return { kind: 'wait', detail: `downgrade to ${show(target)} enabled: waiting for the cluster version (${show(cluster)}) to read ${show(target)}` };
    if (o.blocker) return { kind: 'wait', detail: `downgrade to ${show(target)}: waiting before enabling it: ${o.blocker}` };
    return { kind: 'enable', target: show(target), detail: `enabling the downgrade of the cluster version from ${show(cluster)} to ${show(target)}` };
  }
  if (rank(cluster) < rank(target)) return { kind: 'wait', detail: `downgrade to ${show(target)}: the cluster version reads ${show(cluster)}, below the target` };
  // Every member runs the newer minor and etcd holds no downgrade: the cluster version reads the
  // target only until the leader raises it (moments after an upgrade). A member restarted on the
  // target now would meet that raise in its log and stop for good ("invalid downgrade"). Wait for
  // the raise, then enable. (With a member still on the target, as when an upgrade goes back half
  // way, the cluster version cannot rise, and the roll back is safe.)
  if (!enabled && servers.every((s) => s > rank(target))) {
    return { kind: 'wait', detail: `downgrade to ${show(target)}: every member runs ${Math.floor(newest / 1000)}.${newest % 1000} and the cluster version, still ${show(cluster)}, is about to be raised; enabling the downgrade after that` };
  }
  const migrating = known.find((k) => k.server && rank(k.server) > rank(target) && rank(minorOf(k.v.storage) ?? cluster) > rank(target));
  if (migrating) return { kind: 'wait', detail: `downgrade to ${show(target)}: waiting for ${migrating.label} to migrate its data (storage version ${migrating.v.storage ?? 'unknown'})` };
  const done = servers.filter((s) => s === rank(target)).length;
  return { kind: 'roll', detail: `downgrade to ${show(target)}: cluster and storage versions read ${show(target)}, ${done} of ${o.members.length} members run ${show(target)}` };
}
