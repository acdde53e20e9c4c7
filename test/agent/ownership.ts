import { chmodSync, chownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The kubelet's fsGroup rule for a volume: every file and directory gets group `gid`, group read
 * (and write, unless read-only) permission, directories group search and setgid, so files
 * created later inherit the group. Symlinks are left alone. This is what lets etcd, running as
 * 65532, write its data directory and read its 0400 keys.
 */
export function applyFsGroup(root: string, gid: number, readOnly: boolean): void {
  const fileMask = readOnly ? 0o440 : 0o660;
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    chownSync(path, st.uid, gid);
    if (st.isDirectory()) {
      chmodSync(path, (st.mode & 0o7777) | fileMask | 0o110 | 0o2000);
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else {
      chmodSync(path, (st.mode & 0o7777) | fileMask);
    }
  };
  walk(root);
}
