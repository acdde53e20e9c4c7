import type { KubeConfig, V1Node, V1PersistentVolumeClaim, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Wire } from '../../src/runtime/kinds.js';
import { kubeRequest } from '../../src/runtime/kube-http.js';
import type { EventRecorder } from './events.js';
import { mergePatch, podPath, tolerating } from './kube.js';

type Pod = Wire<V1Pod>;
type Claim = Wire<V1PersistentVolumeClaim>;
type Node = Wire<V1Node>;

export function tolerates(tolerations: readonly Wire<V1Toleration>[], taint: Wire<V1Taint>): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

/**
 * Why the pod cannot go to the node, or undefined when it can: the scheduler's filters that
 * matter on one node (node selector, taints) and its volume rule that claims with immediate
 * binding must be bound first.
 */
export function unschedulableReason(pod: Pod, node: Node, claims: (namespace: string, name: string) => Claim | undefined): string | undefined {
  const labels = node.metadata?.labels ?? {};
  const selector = Object.entries(pod.spec?.nodeSelector ?? {});
  if (selector.some(([k, v]) => labels[k] !== v)) return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";
  const blocking = (node.spec?.taints ?? []).filter((t) => t.effect !== 'PreferNoSchedule' && !tolerates(pod.spec?.tolerations ?? [], t));
  if (blocking.length) return `0/1 nodes are available: 1 node(s) had untolerated taint {${blocking[0]!.key}: ${blocking[0]!.value ?? ''}}.`;
  for (const v of pod.spec?.volumes ?? []) {
    if (!v.persistentVolumeClaim) continue;
    const claim = claims(pod.metadata?.namespace ?? '', v.persistentVolumeClaim.claimName);
    if (!claim) return `0/1 nodes are available: persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" not found.`;
    if (claim.status?.phase !== 'Bound') return '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.';
  }
  return undefined;
}

/** Binds pending pods of the default scheduler to the one node, through pods/binding. */
export class Scheduler {
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly nodeName: string,
    private readonly events: EventRecorder,
    private readonly log: Logger,
  ) {}

  async schedule(pods: readonly Pod[], node: Node | undefined, claims: (namespace: string, name: string) => Claim | undefined): Promise<void> {
    if (!node) return;
    for (const pod of pods) {
      if (pod.spec?.nodeName || pod.metadata?.deletionTimestamp || (pod.spec?.schedulerName ?? 'default-scheduler') !== 'default-scheduler') continue;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const reason = unschedulableReason(pod, node, claims);
      await (reason ? this.markUnschedulable(pod, reason) : this.bind(pod));
    }
  }

  private async bind(pod: Pod): Promise<void> {
    const { namespace = '', name = '', uid } = pod.metadata ?? {};
    const body = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } };
    // 409: already bound (our informer had not seen it yet); 404: deleted meanwhile.
    const bound = await tolerating([404, 409], () => kubeRequest(this.kc, `${podPath(namespace, name)}/binding`, { method: 'POST', body }));
    if (!bound) return;
    this.reported.delete(uid ?? '');
    this.log.info('pod bound', { pod: `${namespace}/${name}`, node: this.nodeName });
    this.events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${this.nodeName}`);
  }

  /** The PodScheduled=False condition and a FailedScheduling event, once per distinct reason. */
  private async markUnschedulable(pod: Pod, message: string): Promise<void> {
    const { namespace = '', name = '', uid = '' } = pod.metadata ?? {};
    if (this.reported.get(uid) === message) return;
    const condition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    const others = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    await tolerating([404], () => mergePatch(this.kc, `${podPath(namespace, name)}/status`, { status: { conditions: [...others, condition] } }));
    this.reported.set(uid, message);
    this.events.record(pod, 'Warning', 'FailedScheduling', message);
  }
}
