import { readFileSync, readdirSync } from 'node:fs';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';

/** SIGKILLs the etcd process of `pod` (found by its name and pod IP on its command line); returns how many it killed. */
export function killEtcd(pod: string, ip: string): number {
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (cmd[0]?.endsWith('etcd') && cmd.includes(`--name=${pod}`) && cmd.includes(`--listen-client-urls=https://${ip}:2379`)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed += 1;
      } catch {
        // gone already
      }
    }
  }
  return killed;
}

/** Where the local agent keeps a member's volume on this host (its PV's `local.path`). */
export async function volumePath(kubectl: (...args: string[]) => Promise<string>, namespace: string, member: string): Promise<string> {
  const claim = JSON.parse(await kubectl('get', 'pvc', `data-${member}`, '-n', namespace, '-o', 'json')) as V1PersistentVolumeClaim;
  const pv = JSON.parse(await kubectl('get', 'pv', claim.spec!.volumeName!, '-o', 'json')) as V1PersistentVolume;
  return pv.spec!.local!.path;
}
