import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from './kube-http.js';

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
  uid?: string;
}

/** Posts a Kubernetes Event about `involved`, for `kubectl describe` and `kubectl get events`. */
export async function postEvent(kc: KubeConfig, involved: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string, now: Date): Promise<void> {
  const ns = involved.namespace!;
  const time = now.toISOString();
  await kubeRequest(kc, `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, {
    method: 'POST',
    body: {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${involved.name}.`, namespace: ns },
      involvedObject: involved,
      reason,
      message,
      type,
      source: { component: 'etcd-operator' },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    },
  });
}
