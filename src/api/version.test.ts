import { describe, expect, it } from 'vitest';
import { compareVersions, formatVersion, isAllowedVersionChange, isSupportedVersion, parseVersion, patchReleaseFirst, versionChange } from './version.js';

describe('parseVersion', () => {
  it.each([
    ['3.6.16', { major: 3, minor: 6, patch: 16, prerelease: [] }],
    ['3.6.0-rc.5', { major: 3, minor: 6, patch: 0, prerelease: ['rc', '5'] }],
    ['0.0.0', { major: 0, minor: 0, patch: 0, prerelease: [] }],
  ])('parses %s', (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
    expect(formatVersion(parseVersion(text)!)).toBe(text);
  });

  it.each(['v3.6.16', '3.6', '3.6.16+build.1', '03.6.1', '3.6.01', '3.6.1-', '3.6.1-rc..1', '3.6.1-01', 'latest', '', ' 3.6.1', '99999999999999999999.0.0'])(
    'refuses %j',
    (text) => expect(parseVersion(text)).toBeUndefined(),
  );
});

describe('compareVersions', () => {
  // Each row: a, b, sign of a compared with b.
  it.each([
    ['3.6.16', '3.6.16', 0],
    ['3.6.9', '3.6.10', -1],
    ['3.10.0', '3.9.99', 1],
    ['4.0.0', '3.99.99', 1],
    ['3.6.0-rc.5', '3.6.0', -1],
    ['3.6.0-alpha', '3.6.0-alpha.1', -1],
    ['3.6.0-alpha.1', '3.6.0-alpha.beta', -1],
    ['3.6.0-beta.2', '3.6.0-beta.11', -1],
    ['3.6.0-rc.1', '3.6.0-beta.11', 1],
  ] as const)('%s vs %s is %d', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it('throws on a non-version, naming it', () => {
    expect(() => compareVersions('3.6', '3.6.1')).toThrow(/"3.6" is not an etcd version/);
  });
});

describe('versionChange', () => {
  it.each([
    ['3.6.16', '3.6.16', 'none', true],
    ['3.6.15', '3.6.16', 'patch', true],
    ['3.6.16', '3.6.15', 'patch', true],
    ['3.5.35', '3.6.16', 'minorUpgrade', true],
    ['3.5.20', '3.6.0', 'minorUpgrade', true],
    // etcd issue 19557: 3.5 before 3.5.20 goes to 3.5.20 or later first.
    ['3.5.19', '3.6.16', 'minorUpgrade', false],
    ['3.5.0', '3.6.0', 'minorUpgrade', false],
    ['3.5.3', '3.5.35', 'patch', true],
    // Through etcd's downgrade API: one minor down from 3.6, to 3.5.20 or later (issue 19557).
    ['3.6.0', '3.5.35', 'minorDowngrade', true],
    ['3.6.16', '3.5.20', 'minorDowngrade', true],
    ['3.6.16', '3.5.19', 'minorDowngrade', false],
    ['3.7.0', '3.5.35', 'minorDowngrade', false],
    ['3.7.0', '3.6.16', 'minorDowngrade', false],
    ['3.5.35', '3.7.0', 'skipsMinor', false],
    ['3.6.16', '4.0.0', 'majorChange', false],
  ] as const)('%s -> %s is %s', (from, to, change, allowed) => {
    expect(versionChange(from, to)).toBe(change);
    expect(isAllowedVersionChange(from, to)).toBe(allowed);
  });
});

describe('patchReleaseFirst', () => {
  it.each([
    ['3.5.19', '3.6.16', '3.5.20'],
    ['3.5.0', '3.6.0-rc.1', '3.5.20'],
    ['3.5.20', '3.6.16', undefined],
    ['3.5.3', '3.5.35', undefined],
    ['3.6.0', '3.7.0', undefined],
  ] as const)('%s -> %s: %s first', (from, to, first) => expect(patchReleaseFirst(from, to)).toBe(first));
});

describe('isSupportedVersion', () => {
  it.each([
    ['3.5.0', true],
    ['3.6.16', true],
    ['3.7.0-alpha.0', true],
    ['3.4.37', false],
    ['4.0.0', false],
    ['nope', false],
  ] as const)('%s: %s', (text, expected) => expect(isSupportedVersion(text)).toBe(expected));
});
