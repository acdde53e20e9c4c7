import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { kubeRequest, statusCodeOf } from '../../src/runtime/kube-http.js';

/** What an Event needs of the object it is about (client-node and wire objects alike). */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string };
}

export interface EventRecorder {
  /** Records an Event about `obj`; failures are logged, since an Event is never worth a retry loop. */
  record(obj: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** Events as the kubelet (component `kubelet`) or scheduler (`default-scheduler`) writes them. */
export function eventRecorder(kc: KubeConfig, component: string, host: string, log: Logger): EventRecorder {
  return {
    record(obj, type, reason, message) {
      const namespace = obj.metadata?.namespace ?? 'default';
      const now = new Date().toISOString();
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${obj.metadata?.name ?? 'object'}.`, namespace },
        involvedObject: { apiVersion: obj.apiVersion ?? 'v1', kind: obj.kind ?? 'Pod', namespace, name: obj.metadata?.name, uid: obj.metadata?.uid },
        type,
        reason,
        message,
        source: { component, host },
        reportingComponent: component,
        reportingInstance: host,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      kubeRequest(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, { method: 'POST', body }).catch((err: unknown) =>
        log.warn('event not recorded', { reason, object: `${namespace}/${obj.metadata?.name}`, error: String(err), statusCode: statusCodeOf(err) }),
      );
    },
  };
}
