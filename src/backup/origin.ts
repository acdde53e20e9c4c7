/**
 * Whether an EtcdBackup is a backup of one EtcdCluster object. Pure. The name is not enough: a
 * cluster deleted and created again under it is another cluster (another UID, another etcd
 * cluster ID: the initial-cluster token carries the UID), and its status, metrics, retention
 * and recovery must never take the old one's snapshots for its own. In order:
 *   1. Another name: no.
 *   2. The backup recorded the cluster UID it began on (status.clusterUID): that UID decides.
 *   3. Made before UIDs were recorded, it succeeded with an etcd cluster ID: that ID must be the
 *      one this cluster is (latched in status, or adopted with the old data).
 *   4. Neither (it never began, or failed before recording either): only if it was created no
 *      earlier than the cluster; one older than the cluster was made for an earlier one.
 */
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { expectedClusterId } from '../controller/identity.js';

export function backupOfCluster(backup: EtcdBackup, cluster: EtcdCluster): boolean {
  if (backup.spec.clusterName !== cluster.metadata.name) return false;
  const s = backup.status;
  if (s?.clusterUID) return s.clusterUID === cluster.metadata.uid;
  if (s?.clusterID) return s.clusterID === expectedClusterId(cluster);
  // Dates as the client types them, strings as JSON has them: new Date takes either.
  const made = new Date(backup.metadata.creationTimestamp ?? NaN).getTime();
  const clusterMade = new Date(cluster.metadata.creationTimestamp ?? NaN).getTime();
  return Number.isNaN(made) || Number.isNaN(clusterMade) || made >= clusterMade;
}
