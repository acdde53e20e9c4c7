import { conditionReasons as R } from '../api/conditions.js';
import { EtcdAdminError } from '../etcd/errors.js';
import { KubeApiError } from '../runtime/kube-http.js';
import { LeadershipLostError } from '../runtime/pass-scope.js';

/** A pass that failed, as the status and a Warning event tell it. */
export interface Failure {
  reason: string;
  message: string;
}

/**
 * What a person reading the status should learn from a pass that threw, classified by the
 * error's type and codes, never its text. Undefined when nothing must be written: a deposed
 * leader says nothing, its successor reports.
 */
export function describeFailure(err: unknown): Failure | undefined {
  if (err instanceof LeadershipLostError) return undefined;
  if (err instanceof KubeApiError) {
    const what = err.request ? ` ${err.request}` : '';
    return { reason: R.kubernetesRefused, message: `the API server refused${what} (HTTP ${err.statusCode}${err.reason ? ` ${err.reason}` : ''}): ${err.message}` };
  }
  if (err instanceof EtcdAdminError) {
    const where = err.endpoint ? ` at ${err.endpoint}` : '';
    return { reason: R.etcdRefused, message: `etcd refused ${err.op}${where}: ${err.kind}${err.detail ? ` (${err.detail})` : ''}` };
  }
  return { reason: R.reconcileError, message: `the last pass failed: ${err instanceof Error ? err.message : String(err)}` };
}
