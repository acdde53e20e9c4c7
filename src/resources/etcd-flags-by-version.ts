/**
 * Which etcd flags differ between the minor releases the operator runs, so that each member gets
 * the flags its own binary knows. Only the differences are listed (from `etcd --help` of 3.5.35
 * and 3.6.16, and hidden flags tried on each binary); every other flag is known to both. Pure.
 *
 * - Renamed: 3.6 dropped the `experimental-` prefix of these flags (3.6 still accepts the old
 *   name, deprecated, until 3.7). Whichever name the user writes, each version gets its own.
 * - Added in 3.6 with no 3.5 equivalent, and removed in 3.6: given to a version that does not
 *   know them, etcd refuses to start. Such an option is refused before any member restarts.
 */
import { compareVersions } from '../api/version.js';

/** The release from which the unprefixed names exist. */
const renamedIn = '3.6.0';

/** Flags 3.5 knows as `experimental-<name>` and 3.6 as `<name>`. */
const renamedFlags: readonly string[] = [
  'bootstrap-defrag-threshold-megabytes',
  'compact-hash-check-time',
  'compaction-batch-limit',
  'compaction-sleep-interval',
  'corrupt-check-time',
  'distributed-tracing-address',
  'distributed-tracing-instance-id',
  'distributed-tracing-sampling-rate',
  'distributed-tracing-service-name',
  'downgrade-check-time',
  'enable-distributed-tracing',
  'memory-mlock',
  'peer-skip-client-san-verification',
  'snapshot-catchup-entries',
  'warning-apply-duration',
  'watch-progress-notify-interval',
];

/** Flags that a release from `since` on knows and earlier ones do not (none of them renamed). */
const addedFlags: readonly { flag: string; since: string }[] = [
  { flag: 'feature-gates', since: '3.6.0' },
  { flag: 'log-format', since: '3.6.0' },
  { flag: 'max-learners', since: '3.6.0' },
  { flag: 'warning-unary-request-duration', since: '3.6.0' },
  { flag: 'experimental-warning-unary-request-duration', since: '3.6.0' },
];

/** Flags that releases from `removedIn` on no longer know. */
const removedFlags: readonly { flag: string; removedIn: string }[] = [
  { flag: 'experimental-enable-v2v3', removedIn: '3.6.0' },
  { flag: 'proxy', removedIn: '3.6.0' },
  { flag: 'proxy-dial-timeout', removedIn: '3.6.0' },
  { flag: 'proxy-failure-wait', removedIn: '3.6.0' },
  { flag: 'proxy-read-timeout', removedIn: '3.6.0' },
  { flag: 'proxy-refresh-interval', removedIn: '3.6.0' },
  { flag: 'proxy-write-timeout', removedIn: '3.6.0' },
];

const experimental = 'experimental-';

/** The base name of a renamed flag written either way, or undefined for any other flag. */
function renamedBase(flag: string): string | undefined {
  const base = flag.startsWith(experimental) ? flag.slice(experimental.length) : flag;
  return renamedFlags.includes(base) ? base : undefined;
}

/** The name `version` knows a flag by, written either way by the user. */
export function flagNameFor(flag: string, version: string): string {
  const base = renamedBase(flag);
  if (base === undefined) return flag;
  return compareVersions(version, renamedIn) >= 0 ? base : `${experimental}${base}`;
}

/** Why `version` cannot take the option `flag`, or undefined when it can. */
export function unknownFlagReason(flag: string, version: string): string | undefined {
  const added = addedFlags.find((a) => a.flag === flag);
  if (added && compareVersions(version, added.since) < 0) return `${flag} exists only from etcd ${added.since}`;
  const removed = removedFlags.find((r) => r.flag === flag);
  if (removed && compareVersions(version, removed.removedIn) >= 0) return `${flag} was removed in etcd ${removed.removedIn}`;
  return undefined;
}

/**
 * Options `version` cannot take, each with why: flags it does not know, and a renamed flag
 * written under both its names (both would reach etcd as one flag given twice).
 */
export function refusedOptions(options: Record<string, string> | undefined, version: string): { flag: string; why: string }[] {
  const keys = Object.keys(options ?? {}).sort();
  const refused: { flag: string; why: string }[] = [];
  for (const flag of keys) {
    const why = unknownFlagReason(flag, version);
    if (why) refused.push({ flag, why });
    const base = renamedBase(flag);
    if (base !== undefined && flag === base && keys.includes(`${experimental}${base}`)) {
      refused.push({ flag, why: `${flag} and ${experimental}${base} are one flag: set only one of them` });
    }
  }
  return refused;
}

/** The options as `version` takes them: renamed flags under that version's name. */
export function optionsFor(options: Record<string, string>, version: string): Record<string, string> {
  return Object.fromEntries(Object.entries(options).map(([flag, value]) => [flagNameFor(flag, version), value]));
}
