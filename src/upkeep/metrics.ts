/** Metrics of upkeep: alarms, the consistency check, and the defragmentations done. */
import client from 'prom-client';
import type { ClusterRef } from '../resources/names.js';

type Labels = { namespace: string; cluster: string };
const alarmTypes = ['NOSPACE', 'CORRUPT'] as const;

export class UpkeepMetrics {
  private readonly alarm;
  private readonly inconsistent;
  private readonly lastCheck;
  private readonly defragmentations;
  private readonly defragSeconds;

  constructor(registry: client.Registry = new client.Registry()) {
    const c = ['namespace', 'cluster'];
    this.alarm = new client.Gauge({ name: 'etcd_operator_cluster_alarm', help: '1 while etcd holds this alarm (NOSPACE: writes refused; CORRUPT: the cluster stopped serving), 0 otherwise', labelNames: [...c, 'alarm'], registers: [registry] });
    this.inconsistent = new client.Gauge({ name: 'etcd_operator_cluster_data_inconsistent', help: "1 when members' HashKV disagreed at one revision, or etcd raised CORRUPT: automatic changes stop until a person acts", labelNames: c, registers: [registry] });
    this.lastCheck = new client.Gauge({ name: 'etcd_operator_cluster_consistency_check_timestamp_seconds', help: 'Unix time of the last consistency check that reached a verdict', labelNames: c, registers: [registry] });
    this.defragmentations = new client.Counter({ name: 'etcd_operator_cluster_defragmentations_total', help: 'Member defragmentations the operator ran, by why (fragmented or noSpace)', labelNames: [...c, 'reason'], registers: [registry] });
    this.defragSeconds = new client.Gauge({ name: 'etcd_operator_cluster_last_defragmentation_seconds', help: 'How long the last defragmentation took', labelNames: c, registers: [registry] });
  }

  alarms(ref: ClusterRef, alarms: readonly { alarm: string }[]): void {
    for (const alarm of alarmTypes) this.alarm.set({ ...labels(ref), alarm }, alarms.some((a) => a.alarm === alarm) ? 1 : 0);
  }

  consistency(ref: ClusterRef, inconsistent: boolean, checkedAt: Date | undefined): void {
    this.inconsistent.set(labels(ref), inconsistent ? 1 : 0);
    if (checkedAt) this.lastCheck.set(labels(ref), checkedAt.getTime() / 1000);
  }

  defragmented(ref: ClusterRef, reason: string, seconds: number): void {
    this.defragmentations.inc({ ...labels(ref), reason });
    this.defragSeconds.set(labels(ref), seconds);
  }

  forget(ref: ClusterRef): void {
    for (const alarm of alarmTypes) this.alarm.remove({ ...labels(ref), alarm });
    for (const g of [this.inconsistent, this.lastCheck, this.defragSeconds]) g.remove(labels(ref));
    for (const reason of ['fragmented', 'noSpace']) this.defragmentations.remove({ ...labels(ref), reason });
  }
}

function labels(ref: ClusterRef): Labels {
  return { namespace: ref.namespace, cluster: ref.name };
}
