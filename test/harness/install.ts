import { join } from 'node:path';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from './binaries.js';
import type { ControlPlane } from './control-plane.js';
import { operatorServiceAccount, writeServiceAccountKubeconfig } from './service-account.js';
import { waitFor } from './wait.js';

/** The install modes under deploy/overlays/. */
export type Overlay = 'cluster-wide' | 'namespaced';

export function overlayDir(overlay: Overlay): string {
  return join(repoRoot, 'deploy', 'overlays', overlay);
}

/** The overlay's objects as the real kubectl's kustomize renders them. */
export async function renderOverlay(cp: ControlPlane, overlay: Overlay): Promise<KubernetesObject[]> {
  const result = await cp.kubectl(['kustomize', overlayDir(overlay)]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${overlay}: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as KubernetesObject).filter(Boolean);
}

const bindFlags = ['--metrics-bind-address=', '--health-probe-bind-address='];

/**
 * The flags the Deployment gives the operator, for running it outside a pod: its args (minus
 * the bind addresses, which a local process sets to loopback), its ETCD_OPERATOR_* env as
 * flags, and POD_NAMESPACE (the downward API) as --leader-election-namespace.
 */
export function operatorArgsOf(deployment: V1Deployment): string[] {
  const container = deployment.spec?.template.spec?.containers[0];
  if (!container) throw new Error('the Deployment has no container');
  const args = (container.args ?? []).filter((a) => !bindFlags.some((f) => a.startsWith(f)));
  for (const env of container.env ?? []) {
    if (env.name === 'POD_NAMESPACE') args.push(`--leader-election-namespace=${deployment.metadata?.namespace}`);
    else if (env.name.startsWith('ETCD_OPERATOR_') && env.value !== undefined) {
      args.push(`--${env.name.slice('ETCD_OPERATOR_'.length).toLowerCase().replaceAll('_', '-')}=${env.value}`);
    }
  }
  return args;
}

export interface LocalOperatorInstall {
  /** A kubeconfig authenticating as the operator's ServiceAccount (a bound token). */
  kubeconfig: string;
  /** The Deployment's flags, to pass to the operator process after its loopback bind addresses. */
  args: string[];
  /** Everything the overlay renders, the Deployment included. */
  objects: KubernetesObject[];
}

/**
 * Installs an overlay for an operator that runs as a local process yet authenticates as its
 * ServiceAccount: every object but the Deployment (whose image is not built here and whose
 * pods a node agent must not try to run), then waits for the CRD.
 */
export async function installForLocalOperator(cp: ControlPlane, overlay: Overlay, tokenSeconds = 3600): Promise<LocalOperatorInstall> {
  const objects = await renderOverlay(cp, overlay);
  const deployment = objects.find((o): o is V1Deployment => o.kind === 'Deployment');
  if (!deployment) throw new Error(`${overlay} renders no Deployment`);
  const rest = objects.filter((o) => o !== deployment).map((o) => stringify(o)).join('---\n');
  const apply = await cp.kubectl(['apply', '--server-side', '-f', '-'], { input: rest });
  if (apply.code !== 0) throw new Error(`applying ${overlay}: ${apply.stderr}`);
  await cp.waitForCrd('etcdclusters.etcd.operator.dev');
  const kubeconfig = await writeServiceAccountKubeconfig(cp, operatorServiceAccount, tokenSeconds);
  const args = operatorArgsOf(deployment);
  await waitForGrants(cp, kubeconfig, args);
  return { kubeconfig, args, objects };
}

/**
 * The API server's authorizer learns of new RBAC objects through its own informers, a moment
 * after they are written: an operator started before that logs 403s. Waits until the account
 * may list EtcdClusters where it watches and update its Lease.
 */
async function waitForGrants(cp: ControlPlane, kubeconfig: string, args: string[]): Promise<void> {
  const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const namespaces = flag('namespaces')?.split(',').filter(Boolean) ?? [];
  const checks = [
    ...(namespaces.length > 0 ? namespaces.map((ns) => ['list', 'etcdclusters.etcd.operator.dev', '-n', ns]) : [['list', 'etcdclusters.etcd.operator.dev', '--all-namespaces']]),
    ['update', `leases.coordination.k8s.io/${flag('leader-election-id') ?? 'etcd-operator-leader'}`, '-n', flag('leader-election-namespace') ?? 'default'],
  ];
  await waitFor('the operator account to be granted its RBAC', async () => {
    const answers = await Promise.all(checks.map((c) => cp.kubectl(['--kubeconfig', kubeconfig, 'auth', 'can-i', ...c])));
    const refused = checks.filter((_, i) => answers[i]!.stdout.trim() !== 'yes');
    // Thrown rather than returned, so that a timeout names what is still refused.
    if (refused.length > 0) throw new Error(`not yet allowed: ${refused.map((c) => c.join(' ')).join('; ')}`);
    return true;
  }, { timeoutMs: 30_000, intervalMs: 200 });
}
