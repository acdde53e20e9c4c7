import { describe, expect, it } from 'vitest';
import { flagNameFor, optionsFor, refusedOptions } from './etcd-flags-by-version.js';
import { sampleCluster } from './fixtures.js';
import { buildStatefulSet } from './statefulset.js';

const container = (sts: ReturnType<typeof buildStatefulSet>) => sts.spec!.template.spec!.containers[0]!;

describe('flagNameFor', () => {
  // Each row: the name the user wrote, the version, the name that version knows.
  it.each([
    ['corrupt-check-time', '3.5.35', 'experimental-corrupt-check-time'],
    ['experimental-corrupt-check-time', '3.5.35', 'experimental-corrupt-check-time'],
    ['experimental-corrupt-check-time', '3.6.16', 'corrupt-check-time'],
    ['corrupt-check-time', '3.6.0-rc.1', 'experimental-corrupt-check-time'],
    ['watch-progress-notify-interval', '3.6.16', 'watch-progress-notify-interval'],
    ['experimental-snapshot-catchup-entries', '3.6.16', 'snapshot-catchup-entries'],
    // Not renamed: 3.6 replaced these with feature gates and still takes the old flag.
    ['experimental-initial-corrupt-check', '3.6.16', 'experimental-initial-corrupt-check'],
    ['quota-backend-bytes', '3.5.35', 'quota-backend-bytes'],
  ])('%s on %s is --%s', (flag, version, expected) => expect(flagNameFor(flag, version)).toBe(expected));
});

describe('refusedOptions', () => {
  it.each([
    [{ 'feature-gates': 'InitialCorruptCheck=true' }, '3.5.35', ['feature-gates exists only from etcd 3.6.0']],
    [{ 'max-learners': '2', 'log-format': 'json' }, '3.5.35', ['log-format exists only from etcd 3.6.0', 'max-learners exists only from etcd 3.6.0']],
    [{ 'max-learners': '2' }, '3.6.16', []],
    [{ 'experimental-enable-v2v3': '/v2' }, '3.6.16', ['experimental-enable-v2v3 was removed in etcd 3.6.0']],
    [{ 'experimental-enable-v2v3': '/v2' }, '3.5.35', []],
    [{ 'corrupt-check-time': '1m', 'experimental-corrupt-check-time': '2m' }, '3.6.16', ['corrupt-check-time and experimental-corrupt-check-time are one flag: set only one of them']],
    [{ 'corrupt-check-time': '1m', 'quota-backend-bytes': '1' }, '3.5.35', []],
    [undefined, '3.6.16', []],
  ])('%j on %s', (options, version, expected) => expect(refusedOptions(options, version).map((r) => r.why)).toEqual(expected));
});

describe('optionsFor', () => {
  it('keeps values and renames keys for the version', () => {
    expect(optionsFor({ 'corrupt-check-time': '5m', 'snapshot-count': '9' }, '3.5.35')).toEqual({ 'experimental-corrupt-check-time': '5m', 'snapshot-count': '9' });
  });

  it('renders the member command line per version', () => {
    const options = { 'experimental-watch-progress-notify-interval': '5s' };
    const args = (version: string) => container(buildStatefulSet(sampleCluster({ version, options }), 3, 'hash')).args!;
    expect(args('3.5.35')).toContain('--experimental-watch-progress-notify-interval=5s');
    expect(args('3.6.16')).toContain('--watch-progress-notify-interval=5s');
    expect(args('3.6.16').join(' ')).not.toContain('experimental-watch');
  });
});
