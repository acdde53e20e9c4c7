/**
 * The gate that keeps a member from being given a flag its etcd release does not know: etcd
 * would refuse to start, and a rolling restart would take members down one after another. Pure.
 */
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { refusedOptions } from '../resources/etcd-flags-by-version.js';

/** Why spec.options cannot run on spec.version (for status and a Warning event), or undefined. */
export function optionsRefusal(cluster: EtcdCluster): { reason: string; message: string } | undefined {
  const refused = refusedOptions(cluster.spec.options, cluster.spec.version);
  if (refused.length === 0) return undefined;
  const flags = [...new Set(refused.map((r) => r.flag))];
  return {
    reason: R.optionUnknownToVersion,
    message:
      `spec.options cannot run on etcd ${cluster.spec.version}: ${refused.map((r) => r.why).join('; ')}. ` +
      `Remove ${flags.join(', ')} from spec.options or choose a version that knows ${flags.length > 1 ? 'them' : 'it'}; until then no member is restarted or added`,
  };
}
