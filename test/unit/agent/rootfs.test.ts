import { describe, expect, it } from 'vitest';
import { mountScript, shellQuote } from '../../agent/rootfs.js';

describe('container root mount script', () => {
  it('binds parents before children, remounts read-only where asked, and execs chrooted as the user', () => {
    const script = mountScript({
      root: '/agent/pods/p/rootfs',
      hostname: 'demo-0',
      binds: [
        { source: '/agent/vol/tls', target: '/etc/etcd/tls/server', readOnly: true },
        { source: '/agent/vol/data', target: '/var/lib/etcd', readOnly: false },
        { source: '/agent/hosts', target: '/etc/hosts', readOnly: true, file: true },
      ],
      readOnlyRoot: true,
      uid: 65532,
      gid: 65532,
      groups: [65532],
    });
    expect(script.split('\n')).toEqual([
      'set -eu',
      "hostname 'demo-0'",
      "mount --bind '/agent/pods/p/rootfs' '/agent/pods/p/rootfs'",
      "mount --bind -o ro '/agent/hosts' '/agent/pods/p/rootfs/etc/hosts'",
      "mount --bind '/agent/vol/data' '/agent/pods/p/rootfs/var/lib/etcd'",
      "mount --bind -o ro '/agent/vol/tls' '/agent/pods/p/rootfs/etc/etcd/tls/server'",
      "mount -o remount,bind,ro '/agent/pods/p/rootfs'",
      `exec /usr/sbin/chroot --userspec=65532:65532 --groups=65532 '/agent/pods/p/rootfs' "$@"`,
    ]);
  });

  it('refuses mount paths that escape the root', () => {
    const c = { root: '/r', hostname: 'h', readOnlyRoot: false, uid: 0, gid: 0, groups: [] };
    expect(() => mountScript({ ...c, binds: [{ source: '/x', target: '../etc', readOnly: false }] })).toThrow(/absolute/);
    expect(() => mountScript({ ...c, binds: [{ source: '/x', target: '/a/../../etc', readOnly: false }] })).not.toThrow();
  });

  it('quotes for the shell', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
