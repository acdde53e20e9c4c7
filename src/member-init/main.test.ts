import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasWal, nextPollMs, parseGuardArgs, peerClientUrls, quickPollMs, quickPollWindowMs, setAsideLeftovers } from './main.js';

describe('the start guard entry point', () => {
  it('asks the other members at their client port', () => {
    const cluster = 'c-0=https://c-0.p.ns.svc.cluster.local:2380,c-1=https://c-1.p.ns.svc.cluster.local:2380,c-2=https://c-2.p.ns.svc.cluster.local:2380';
    expect(peerClientUrls(cluster, 'https://c-1.p.ns.svc.cluster.local:2380')).toEqual(['https://c-0.p.ns.svc.cluster.local:2379', 'https://c-2.p.ns.svc.cluster.local:2379']);
    expect(peerClientUrls('c-0=https://c-0.p.ns.svc.cluster.local:2380', 'https://c-0.p.ns.svc.cluster.local:2380')).toEqual([]);
  });

  it('finds data as etcd does: a .wal file in member/wal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guard-'));
    try {
      expect(hasWal(dir)).toBe(false);
      mkdirSync(join(dir, 'member', 'wal'), { recursive: true });
      expect(hasWal(dir)).toBe(false);
      writeFileSync(join(dir, 'member', 'wal', '0.tmp'), '');
      expect(hasWal(dir)).toBe(false);
      writeFileSync(join(dir, 'member', 'wal', '0000000000000000-0000000000000000.wal'), '');
      expect(hasWal(dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('moves a database left without a write-ahead log beside the data directory, and nothing else', () => {
    const root = mkdtempSync(join(tmpdir(), 'guard-'));
    const dir = join(root, 'data');
    try {
      // Empty or absent: nothing to move.
      expect(setAsideLeftovers(dir)).toBeUndefined();
      mkdirSync(join(dir, 'member'), { recursive: true });
      expect(setAsideLeftovers(dir)).toBeUndefined();
      // A log: etcd restarts from its data, which stays where it is.
      mkdirSync(join(dir, 'member', 'wal'));
      mkdirSync(join(dir, 'member', 'snap'));
      writeFileSync(join(dir, 'member', 'snap', 'db'), 'bolt');
      writeFileSync(join(dir, 'member', 'wal', '0000000000000000-0000000000000000.wal'), '');
      expect(setAsideLeftovers(dir)).toBeUndefined();
      // The log gone, the database left: moved whole, kept.
      rmSync(join(dir, 'member', 'wal'), { recursive: true });
      const aside = setAsideLeftovers(dir, new Date('2026-12-02T05:30:00.123Z'));
      expect(aside).toBe(join(root, 'member-without-wal-2026-12-02T05-30-00-123Z'));
      expect(existsSync(join(dir, 'member'))).toBe(false);
      expect(readFileSync(join(aside!, 'snap', 'db'), 'utf8')).toBe('bolt');
      expect(readdirSync(root).sort()).toEqual(['data', 'member-without-wal-2026-12-02T05-30-00-123Z']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.each([
    ['first refusal: a pod started ahead of its add looks again quickly', 1_000, 0, quickPollMs],
    ['within the quick window', 1_000, quickPollWindowMs - 1, quickPollMs],
    ['past the quick window: the configured interval', 1_000, quickPollWindowMs, 1_000],
    ['an interval below the quick one is kept', 50, 0, 50],
  ])('polls: %s', (_name, pollMs, waitedMs, expected) => {
    expect(nextPollMs(pollMs, waitedMs)).toBe(expected);
  });

  it('refuses bad arguments with a message', () => {
    const args = ['--data-dir=/d', '--peer-url=https://a:2380', '--initial-cluster=a=https://a:2380', '--tls-dir=/t'];
    expect(parseGuardArgs([...args, '--initial-cluster-state=existing'])).toMatchObject({ state: 'existing', pollMs: 1_000, callTimeoutMs: 2_000 });
    expect(() => parseGuardArgs([...args, '--initial-cluster-state=maybe'])).toThrow(/new or existing/);
    expect(() => parseGuardArgs(['--initial-cluster-state=new'])).toThrow(/required/);
  });
});
