/**
 * etcd versions as the API accepts them: semantic versions without a leading `v` or build
 * metadata (`3.6.16`, `3.6.0-rc.5`), because they become image tags. Pure; the CRD's CEL rules
 * apply the same policy (see upgradeRules in schema.ts), so the two must agree.
 */

export interface EtcdVersion {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated pre-release identifiers, empty for a release. */
  prerelease: string[];
}

/** etcd releases the operator runs: 3.5 and later 3.x (flags and the learner API differ before). */
export const supportedMajor = 3;
export const minimumSupportedMinor = 5;

const numeric = '0|[1-9][0-9]*';
const identifier = `(?:${numeric}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const versionPattern = new RegExp(`^(${numeric})\\.(${numeric})\\.(${numeric})(?:-(${identifier}(?:\\.${identifier})*))?$`);

export function parseVersion(text: string): EtcdVersion | undefined {
  const m = versionPattern.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  return { major, minor, patch, prerelease: m[4] ? m[4].split('.') : [] };
}

function mustParse(text: string): EtcdVersion {
  const v = parseVersion(text);
  if (!v) throw new Error(`"${text}" is not an etcd version (MAJOR.MINOR.PATCH, such as 3.6.16)`);
  return v;
}

export function formatVersion(v: EtcdVersion): string {
  const core = `${v.major}.${v.minor}.${v.patch}`;
  return v.prerelease.length ? `${core}-${v.prerelease.join('.')}` : core;
}

const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Semantic Versioning 2.0 precedence of pre-release identifiers. */
function comparePrerelease(a: string[], b: string[]): -1 | 0 | 1 {
  if (a.length === 0 || b.length === 0) return sign(b.length - a.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i]!, b[i]!];
    if (x === y) continue;
    const [xn, yn] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (xn && yn) return sign(Number(x) - Number(y));
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return sign(a.length - b.length);
}

/** -1, 0 or 1 as `a` is older than, the same as, or newer than `b`. Throws on a non-version. */
export function compareVersions(a: string | EtcdVersion, b: string | EtcdVersion): -1 | 0 | 1 {
  const [x, y] = [typeof a === 'string' ? mustParse(a) : a, typeof b === 'string' ? mustParse(b) : b];
  return sign(x.major - y.major) || sign(x.minor - y.minor) || sign(x.patch - y.patch) || comparePrerelease(x.prerelease, y.prerelease);
}

export function isSupportedVersion(text: string): boolean {
  const v = parseVersion(text);
  return v !== undefined && v.major === supportedMajor && v.minor >= minimumSupportedMinor;
}

/**
 * What moving a running cluster from `running` to `desired` means. etcd upgrades one minor
 * release at a time and cannot roll a minor back by swapping binaries alone (a downgrade goes
 * through its downgrade API, see downgradableMinors); within a minor, patch releases are
 * compatible in both directions.
 */
export type VersionChange = 'none' | 'patch' | 'minorUpgrade' | 'minorDowngrade' | 'skipsMinor' | 'majorChange';

export function versionChange(running: string, desired: string): VersionChange {
  const [from, to] = [mustParse(running), mustParse(desired)];
  if (from.major !== to.major) return 'majorChange';
  if (to.minor < from.minor) return 'minorDowngrade';
  if (to.minor > from.minor + 1) return 'skipsMinor';
  if (to.minor === from.minor + 1) return 'minorUpgrade';
  return compareVersions(from, to) === 0 ? 'none' : 'patch';
}

/**
 * The first patch release of a minor that may upgrade to the next minor. etcd 3.5 before 3.5.20
 * can fail to move to 3.6 with "too many learner members in cluster" (etcd issue 19557): its
 * guidance is to upgrade to 3.5.20 or later first. This operator adds members as learners, so its
 * clusters are the ones that hit it. The CRD's CEL rule is generated from this table.
 */
export const minimumPatchToLeaveMinor: readonly { major: number; minor: number; patch: number; why: string }[] = [
  // No single quotes in why: it is spliced into a CEL string.
  { major: 3, minor: 5, patch: 20, why: 'can fail to upgrade to 3.6 with "too many learner members in cluster" (etcd issue 19557)' },
];

/** The patch release to go to first, when `running` is too old to upgrade to `desired`'s minor. */
export function patchReleaseFirst(running: string, desired: string): string | undefined {
  const [from, to] = [mustParse(running), mustParse(desired)];
  const rule = minimumPatchToLeaveMinor.find((r) => r.major === from.major && r.minor === from.minor);
  const leaves = to.major > from.major || (to.major === from.major && to.minor > from.minor);
  return rule && leaves && from.patch < rule.patch ? `${rule.major}.${rule.minor}.${rule.patch}` : undefined;
}

/**
 * The minor releases a cluster may go back from, through etcd's downgrade API (validate, enable,
 * then the members one at a time). etcd 3.6 is the first release with it; a downgrade goes one
 * minor down, to a patch release that may later leave its minor again (minimumPatchToLeaveMinor),
 * so that the way back up stays open. The CRD's CEL rule is generated from this table.
 */
export const downgradableMinors: readonly { major: number; fromMinor: number; toMinor: number; minimumPatch: number }[] = [
  { major: 3, fromMinor: 6, toMinor: 5, minimumPatch: 20 },
];

/** Whether `running` may go down to `desired` through etcd's downgrade API. */
export function isAllowedDowngrade(running: string, desired: string): boolean {
  const [from, to] = [mustParse(running), mustParse(desired)];
  return downgradableMinors.some((d) => from.major === d.major && to.major === d.major && from.minor === d.fromMinor && to.minor === d.toMinor && to.patch >= d.minimumPatch);
}

/** Whether the API lets a cluster running `running` move to `desired`. */
export function isAllowedVersionChange(running: string, desired: string): boolean {
  const change = versionChange(running, desired);
  if (change === 'minorUpgrade' && patchReleaseFirst(running, desired)) return false;
  if (change === 'minorDowngrade') return isAllowedDowngrade(running, desired);
  return change === 'none' || change === 'patch' || change === 'minorUpgrade';
}
