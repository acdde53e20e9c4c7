import { parseVersion } from '../api/version.js';

/**
 * etcd's own corruption checks, on by default: the initial check (a member compares its hash with
 * its peers' before serving, and refuses to start on a mismatch) and the compaction hash check
 * (the leader compares followers' hashes at each compaction and raises the CORRUPT alarm). Both are
 * cheap. The periodic full check (corrupt-check-time) is left off: the operator's own HashKV
 * comparison (src/upkeep) does that on spec.maintenance.consistencyCheck's interval.
 *
 * 3.5 names them with experimental flags; 3.6 deprecates those for feature gates (3.7 removes
 * them), so each release gets the form it names and a 3.5 member never sees a 3.6-only flag.
 * Flags the user set in spec.options are left to them; for 3.6 their feature gates are merged
 * with ours (theirs win) and a gate they set through the deprecated flag is not set twice.
 */
const gates = [
  { gate: 'CompactHashCheck', legacyFlag: 'experimental-compact-hash-check-enabled' },
  { gate: 'InitialCorruptCheck', legacyFlag: 'experimental-initial-corrupt-check' },
] as const;

/** `A=true,B=false` as a map, in order; malformed entries are kept for etcd to refuse. */
function parseGates(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of (value ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const [name = '', setting = ''] = entry.split('=', 2);
    out.set(name.trim(), setting.trim());
  }
  return out;
}

/** The flags (name without -- to value) that turn the checks on for `version`, given the user's options. */
export function corruptionCheckOptions(version: string, userOptions: Record<string, string> = {}): Record<string, string> {
  // By minor release, so that a 3.6 pre-release (a 3.6 binary) gets the 3.6 form too.
  const v = parseVersion(version);
  if (v && v.major === 3 && v.minor < 6) {
    return Object.fromEntries(gates.filter((g) => userOptions[g.legacyFlag] === undefined).map((g) => [g.legacyFlag, 'true']));
  }
  const user = parseGates(userOptions['feature-gates']);
  const merged = new Map<string, string>();
  for (const g of gates) if (userOptions[g.legacyFlag] === undefined) merged.set(g.gate, 'true');
  for (const [name, setting] of user) merged.set(name, setting);
  if (merged.size === 0) return {};
  const value = [...merged].sort(([a], [b]) => a.localeCompare(b)).map(([name, setting]) => `${name}=${setting}`).join(',');
  return { 'feature-gates': value };
}
