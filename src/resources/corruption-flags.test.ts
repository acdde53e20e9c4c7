import { describe, expect, it } from 'vitest';
import { corruptionCheckOptions } from './corruption-flags.js';
import { sampleCluster } from './fixtures.js';
import { etcdArgs } from './etcd-args.js';

const ref = { namespace: 'db', name: 'main' };
const flags = (version: string, options?: Record<string, string>) => etcdArgs(sampleCluster({ version, options }), ref, 'cluster.local');

// The flag names come from each binary's own `etcd --help` (3.5.35 and 3.6.16): 3.5 has no
// --feature-gates at all (it refuses to start on an unknown flag), 3.6 deprecates the experimental forms.
describe('corruption checks per etcd release', () => {
  it('3.5: the experimental flags, never --feature-gates', () => {
    const args = flags('3.5.35');
    expect(args).toContain('--experimental-initial-corrupt-check=true');
    expect(args).toContain('--experimental-compact-hash-check-enabled=true');
    expect(args.some((a) => a.startsWith('--feature-gates'))).toBe(false);
  });

  it('3.6: the feature gates, never the deprecated experimental flags', () => {
    const args = flags('3.6.16');
    expect(args.filter((a) => a.startsWith('--feature-gates'))).toEqual(['--feature-gates=CompactHashCheck=true,InitialCorruptCheck=true']);
    expect(args.some((a) => a.startsWith('--experimental-'))).toBe(false);
    // A pre-release of 3.6 is 3.6 too.
    expect(corruptionCheckOptions('3.6.0-rc.5')).toEqual({ 'feature-gates': 'CompactHashCheck=true,InitialCorruptCheck=true' });
  });

  it('the same spec renders the same flags (a template that changes only on an operator upgrade)', () => {
    expect(flags('3.6.16')).toEqual(flags('3.6.16'));
    expect(flags('3.5.35', { 'quota-backend-bytes': '1' })).toEqual(flags('3.5.35', { 'quota-backend-bytes': '1' }));
  });

  it("3.6: the user's feature gates are merged, theirs winning, sorted", () => {
    expect(corruptionCheckOptions('3.6.16', { 'feature-gates': 'StopGRPCServiceOnDefrag=true, InitialCorruptCheck=false' })).toEqual({
      'feature-gates': 'CompactHashCheck=true,InitialCorruptCheck=false,StopGRPCServiceOnDefrag=true',
    });
    const args = flags('3.6.16', { 'feature-gates': 'StopGRPCServiceOnDefrag=true' });
    expect(args.filter((a) => a.startsWith('--feature-gates'))).toEqual(['--feature-gates=CompactHashCheck=true,InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true']);
  });

  it('a check the user set through the deprecated flag is not set twice', () => {
    expect(corruptionCheckOptions('3.6.16', { 'experimental-initial-corrupt-check': 'false' })).toEqual({ 'feature-gates': 'CompactHashCheck=true' });
    expect(corruptionCheckOptions('3.5.35', { 'experimental-initial-corrupt-check': 'false' })).toEqual({ 'experimental-compact-hash-check-enabled': 'true' });
    expect(flags('3.5.35', { 'experimental-initial-corrupt-check': 'false' })).toContain('--experimental-initial-corrupt-check=false');
  });
});
