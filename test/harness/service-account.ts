import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { ControlPlane } from './control-plane.js';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** The operator's ServiceAccount as deploy/base and the chart's default release create it. */
export const operatorServiceAccount: ServiceAccountRef = { namespace: 'etcd-operator-system', name: 'etcd-operator' };

/**
 * A bound token for the ServiceAccount from the TokenRequest API, the way a pod's projected
 * token is issued (`kubectl create token`). The API server refuses durations under 10 minutes.
 */
export async function serviceAccountToken(cp: ControlPlane, sa: ServiceAccountRef, durationSeconds = 3600): Promise<string> {
  const result = await cp.kubectl(['create', 'token', sa.name, '-n', sa.namespace, `--duration=${durationSeconds}s`]);
  if (result.code !== 0) throw new Error(`kubectl create token ${sa.namespace}/${sa.name}: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * Writes a kubeconfig that authenticates as the ServiceAccount (token only, no client
 * certificate) against the control plane and returns its path, for `--kubeconfig` of the
 * operator or of kubectl. Its default namespace is the ServiceAccount's.
 */
export async function writeServiceAccountKubeconfig(cp: ControlPlane, sa: ServiceAccountRef = operatorServiceAccount, durationSeconds = 3600): Promise<string> {
  const token = await serviceAccountToken(cp, sa, durationSeconds);
  const user = `system:serviceaccount:${sa.namespace}:${sa.name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'harness', server: cp.server, caData: Buffer.from(cp.ca.certPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: user, token }],
    contexts: [{ name: 'harness', cluster: 'harness', user, namespace: sa.namespace }],
    currentContext: 'harness',
  });
  const path = join(cp.dir, `sa-${sa.namespace}-${sa.name}.kubeconfig`);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}
