import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasWal, parseGuardArgs, peerClientUrls } from './main.js';

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

  it('refuses bad arguments with a message', () => {
    const args = ['--data-dir=/d', '--peer-url=https://a:2380', '--initial-cluster=a=https://a:2380', '--tls-dir=/t'];
    expect(parseGuardArgs([...args, '--initial-cluster-state=existing'])).toMatchObject({ state: 'existing', pollMs: 1_000, callTimeoutMs: 2_000 });
    expect(() => parseGuardArgs([...args, '--initial-cluster-state=maybe'])).toThrow(/new or existing/);
    expect(() => parseGuardArgs(['--initial-cluster-state=new'])).toThrow(/required/);
  });
});
