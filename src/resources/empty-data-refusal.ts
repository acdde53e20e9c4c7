/**
 * The refusal a member's etcd container carries once its member has run (published its name and
 * client URLs), so that etcd itself will not start on an emptied data directory under that
 * member's identity.
 *
 * The start guard (src/member-init) runs when a pod starts, not when its etcd container restarts.
 * A volume emptied under a running pod (a wiped local disk, a data directory deleted by hand) and
 * an etcd restart (a crash, a liveness kill) would start etcd empty with
 * --initial-cluster-state=existing: it adopts the member that has its peer URL, the member whose
 * log is gone, and counts as a voter with nothing (etcd 3.6.16 was seen doing so, and also
 * panicking in raft on the leader's commit index).
 *
 * etcd reads --initial-cluster only when its data directory has no write-ahead log; with one it
 * restarts from its own data and never parses the flag. So the etcd container appends the pod
 * annotation's value to --initial-cluster (downward API env, read again at every container
 * start): for a member that ran, an entry whose URL scheme etcd rejects. A restart on data is
 * unaffected; a restart on an emptied directory exits at once with "URL scheme must be http,
 * https, unix, or unixs: refused-empty-data-dir://member-<id>" (checked on 3.5.35 and 3.6.16).
 * The operator reads that from the container's termination message and deletes the pod, so that
 * the start guard sees the empty volume and holds it until the member is replaced.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { hexId } from '../etcd/convert.js';
import { annotationKeys } from './names.js';

export const emptyDataRefusalScheme = 'refused-empty-data-dir';

/** The annotation value for a member that ran (ID decimal; hex in it, as etcd's logs print IDs): one more --initial-cluster entry. */
export function emptyDataRefusal(memberId: string): string {
  return `,empty-data-dir=${emptyDataRefusalScheme}://member-${hexId(memberId)}`;
}

const refusalPattern = new RegExp(`${emptyDataRefusalScheme}://member-([0-9a-f]+)`);

/** The member (hex) etcd refused to start as on an empty data directory, from its output. */
export function refusedMemberIn(text: string | undefined): string | undefined {
  return text ? refusalPattern.exec(text)?.[1] : undefined;
}

/** The refusal the pod carries now, if any. */
export function podRefusal(pod: V1Pod | undefined): string | undefined {
  return pod?.metadata?.annotations?.[annotationKeys.emptyDataRefusal] || undefined;
}
