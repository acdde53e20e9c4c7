import { parseDuration } from '../api/duration.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { bytesOf } from '../storage/quantity.js';
import type { DefragSettings } from './plan.js';

export interface UpkeepSettings {
  defrag: DefragSettings;
  consistency: { enabled: boolean; intervalMs: number };
}

/** The defaults of spec.maintenance (the schema's, restated for specs built without defaulting). */
export const defaultSettings: UpkeepSettings = {
  defrag: { enabled: true, minFragmentedBytes: 100 * 1024 * 1024, minFragmentedPercent: 50 },
  consistency: { enabled: true, intervalMs: 5 * 60_000 },
};

/** The upkeep settings of a cluster; a field the API server would have refused falls back to its default. */
export function settingsOf(cluster: EtcdCluster): UpkeepSettings {
  const m = cluster.spec.maintenance as Partial<EtcdCluster['spec']['maintenance']> | undefined;
  const d = m?.defrag;
  const c = m?.consistencyCheck;
  const bytes = bytesOf(d?.minFragmentedBytes);
  const interval = c?.interval !== undefined ? parseDuration(c.interval) : undefined;
  return {
    defrag: {
      enabled: d?.enabled ?? defaultSettings.defrag.enabled,
      minFragmentedBytes: bytes !== undefined && bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : defaultSettings.defrag.minFragmentedBytes,
      minFragmentedPercent: d?.minFragmentedPercent ?? defaultSettings.defrag.minFragmentedPercent,
    },
    consistency: {
      enabled: c?.enabled ?? defaultSettings.consistency.enabled,
      intervalMs: interval !== undefined && interval > 0 ? interval : defaultSettings.consistency.intervalMs,
    },
  };
}
