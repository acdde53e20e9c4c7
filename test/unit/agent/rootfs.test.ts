import { describe, expect, it } from 'vitest';
import { containerFstab, fstabPath, mountScript, shellQuote } from '../../agent/rootfs.js';

describe('container root mount script', () => {
  const root = {
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
  };

  it('binds the root onto itself, then parents before children, read-only where asked', () => {
    expect(containerFstab(root).split('\n')).toEqual([
      '/agent/pods/p/rootfs /agent/pods/p/rootfs none bind 0 0',
      '/agent/hosts /agent/pods/p/rootfs/etc/hosts none bind,ro 0 0',
      '/agent/vol/data /agent/pods/p/rootfs/var/lib/etcd none bind 0 0',
      '/agent/vol/tls /agent/pods/p/rootfs/etc/etcd/tls/server none bind,ro 0 0',
      '',
    ]);
  });

  it('mounts the fstab in one call, remounts the root read-only where asked, and execs chrooted as the user', () => {
    expect(mountScript(root, '/agent/pods/p/0.fstab').split('\n')).toEqual([
      'set -eu',
      "hostname 'demo-0'",
      "mount --all --fstab '/agent/pods/p/0.fstab'",
      "mount -o remount,bind,ro '/agent/pods/p/rootfs'",
      `exec /usr/sbin/chroot --userspec=65532:65532 --groups=65532 '/agent/pods/p/rootfs' "$@"`,
    ]);
    expect(mountScript({ ...root, readOnlyRoot: false, groups: [] }, '/f').split('\n').slice(3)).toEqual([`exec /usr/sbin/chroot --userspec=65532:65532 '/agent/pods/p/rootfs' "$@"`]);
  });

  it('escapes what fstab(5) separates fields with', () => {
    expect(fstabPath('/work/my repo\\x\tb')).toBe('/work/my\\040repo\\134x\\011b');
  });

  it('refuses mount paths that escape the root', () => {
    const c = { root: '/r', hostname: 'h', readOnlyRoot: false, uid: 0, gid: 0, groups: [] };
    expect(() => containerFstab({ ...c, binds: [{ source: '/x', target: '../etc', readOnly: false }] })).toThrow(/absolute/);
    expect(() => containerFstab({ ...c, binds: [{ source: '/x', target: '/a/../../etc', readOnly: false }] })).not.toThrow();
  });

  it('quotes for the shell', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
