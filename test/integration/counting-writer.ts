import type { KubernetesObject } from '@kubernetes/client-node';
import type { EtcdCluster, EtcdClusterStatus } from '../../src/api/types.generated.js';
import { KubeWriter } from '../../src/controller/kube-writer.js';

/** The real writer, noting every write it makes ("apply Secret/x", "status y", "event Reason"). */
export class CountingWriter extends KubeWriter {
  readonly writes: string[] = [];
  override apply<T extends KubernetesObject>(obj: T, signal?: AbortSignal): Promise<T> {
    this.writes.push(`apply ${obj.kind}/${obj.metadata?.name}`);
    return super.apply(obj, signal);
  }
  override patchStatus(cluster: EtcdCluster, status: EtcdClusterStatus, signal?: AbortSignal): Promise<void> {
    this.writes.push(`status ${cluster.metadata.name}`);
    return super.patchStatus(cluster, status, signal);
  }
  override delete(kind: string, apiVersionOfObj: string, namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    this.writes.push(`delete ${kind}/${name}`);
    return super.delete(kind, apiVersionOfObj, namespace, name, signal);
  }
  override event(cluster: EtcdCluster, type: 'Normal' | 'Warning', reason: string, message: string, now: Date): Promise<void> {
    this.writes.push(`event ${reason}`);
    return super.event(cluster, type, reason, message, now);
  }
}
