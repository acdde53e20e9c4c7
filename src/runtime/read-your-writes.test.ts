import { describe, expect, it } from 'vitest';
import { cacheVerdict, compareVersions, type OwnWrite, RecentWrites } from './read-your-writes.js';

describe('cacheVerdict: may the cache answer for an object instead of a live GET', () => {
  const wrote = (resourceVersion: string): OwnWrite => ({ op: 'wrote', resourceVersion });
  const cases: [string, { synced: boolean; cachedVersion: string | undefined; own: OwnWrite | undefined }, 'cache' | 'live'][] = [
    ['informer not synced yet: its absence means nothing', { synced: false, cachedVersion: undefined, own: undefined }, 'live'],
    ['not synced, even with the object cached', { synced: false, cachedVersion: '5', own: undefined }, 'live'],
    ['quiet: nothing written, absent (the -ca-next outside a rotation)', { synced: true, cachedVersion: undefined, own: undefined }, 'cache'],
    ['quiet: nothing written, present', { synced: true, cachedVersion: '5', own: undefined }, 'cache'],
    ['just written, the watch event not in yet: absent in the cache', { synced: true, cachedVersion: undefined, own: wrote('10') }, 'live'],
    ['written over an older version the cache still holds', { synced: true, cachedVersion: '9', own: wrote('10') }, 'live'],
    ['the cache holds exactly our write', { synced: true, cachedVersion: '10', own: wrote('10') }, 'cache'],
    ['the cache holds a newer version than our write', { synced: true, cachedVersion: '12', own: wrote('10') }, 'cache'],
    ['versions compare as numbers, not as text', { synced: true, cachedVersion: '100', own: wrote('99') }, 'cache'],
    ['beyond 2^53', { synced: true, cachedVersion: '9007199254740993', own: wrote('9007199254740992') }, 'cache'],
    ['written, version unknown: only a live read settles it', { synced: true, cachedVersion: '10', own: wrote('') }, 'live'],
    ['a version that is no number: equal only', { synced: true, cachedVersion: 'abc', own: wrote('abd') }, 'live'],
    ['deleted by us, gone from the cache', { synced: true, cachedVersion: undefined, own: { op: 'deleted' } }, 'cache'],
    ['deleted by us, the cache still holds it', { synced: true, cachedVersion: '10', own: { op: 'deleted' } }, 'live'],
    ['deleted by us at 10, the cache holds the version we deleted', { synced: true, cachedVersion: '10', own: { op: 'deleted', resourceVersion: '10' } }, 'live'],
    ['deleted by us at 10, recreated since (12)', { synced: true, cachedVersion: '12', own: { op: 'deleted', resourceVersion: '10' } }, 'cache'],
  ];
  it.each(cases)('%s', (_, input, expected) => {
    expect(cacheVerdict(input)).toBe(expected);
  });

  it('compares versions as etcd revisions', () => {
    expect(compareVersions('10', '9')).toBe(1);
    expect(compareVersions('9', '10')).toBe(-1);
    expect(compareVersions('x', 'x')).toBe(0);
    expect(compareVersions('x', '9')).toBeNaN();
  });
});

describe('RecentWrites', () => {
  it('reads live until the cache holds our write, then forgets it', () => {
    const recent = new RecentWrites();
    recent.wrote('Secret', 'db', 'main-ca', '10');
    expect(recent.verdict('Secret', 'db', 'main-ca', true, undefined)).toBe('live');
    expect(recent.verdict('Secret', 'db', 'main-ca', true, '10')).toBe('cache');
    expect(recent.size).toBe(0);
    expect(recent.verdict('Secret', 'db', 'main-ca', true, undefined)).toBe('cache');
  });

  it('a later write replaces the earlier one', () => {
    const recent = new RecentWrites();
    recent.wrote('Secret', 'db', 'main-ca-next', '10');
    recent.deleted('Secret', 'db', 'main-ca-next');
    expect(recent.verdict('Secret', 'db', 'main-ca-next', true, '10')).toBe('live');
    expect(recent.verdict('Secret', 'db', 'main-ca-next', true, undefined)).toBe('cache');
  });

  it('a live read that agrees with the cache settles a write it cannot compare', () => {
    const recent = new RecentWrites();
    recent.deleted('Secret', 'db', 'x');
    recent.settled('Secret', 'db', 'x', '12', '11');
    expect(recent.size).toBe(1);
    recent.settled('Secret', 'db', 'x', '12', '12');
    expect(recent.size).toBe(0);
  });

  it('keeps at most `limit` entries, dropping the oldest', () => {
    const recent = new RecentWrites(2);
    for (const name of ['a', 'b', 'c']) recent.wrote('Secret', 'db', name, '1');
    expect(recent.size).toBe(2);
    expect(recent.verdict('Secret', 'db', 'a', true, undefined)).toBe('cache');
    expect(recent.verdict('Secret', 'db', 'c', true, undefined)).toBe('live');
  });
});
