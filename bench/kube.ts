// Small steps the Kubernetes scenarios share: namespaces, cleanup between runs, and reading the
// audit log for the operator's first write after a change.
import type { V1Pod } from '@kubernetes/client-node';
import { memberSelector, selectorString } from '../src/resources/names.js';
import { waitFor } from '../test/harness/wait.js';
import { type AuditEvent, micros, writeVerbs } from '../test/harness/audit.js';
import { type BenchEnvironment, operatorUser } from './env.js';

export async function ensureNamespace(env: BenchEnvironment, namespace: string): Promise<void> {
  await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }));
}

export async function memberPods(env: BenchEnvironment, namespace: string, name: string): Promise<V1Pod[]> {
  const labelSelector = selectorString(memberSelector({ namespace, name }));
  return (await env.core.listNamespacedPod({ namespace, labelSelector })).items;
}

/**
 * Deletes clusters and their volumes and waits until their etcd processes are gone, so that the
 * next run does not share the CPU with members shutting down.
 */
export async function deleteClusters(env: BenchEnvironment, namespace: string, clusterNames: string[]): Promise<void> {
  if (clusterNames.length === 0) return;
  await env.kubectl(['delete', 'etcdcluster', '-n', namespace, '--wait=false', '--ignore-not-found', ...clusterNames]);
  const mine = (n: string) => clusterNames.some((c) => n.startsWith(`data-${c}-`) || n.startsWith(`${c}-`));
  await waitFor('members of deleted clusters to stop', async () => {
    const pods = (await env.core.listNamespacedPod({ namespace })).items.filter((p) => mine(p.metadata?.name ?? ''));
    return pods.length === 0;
  }, { timeoutMs: 180_000, intervalMs: 500 });
  const pvcs = (await env.core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((p) => p.metadata!.name!).filter(mine);
  if (pvcs.length > 0) await env.kubectl(['delete', 'pvc', '-n', namespace, '--wait=true', '--timeout=120s', ...pvcs]);
}

export interface FirstWrite {
  /** From the change's response on the API server to the operator's first write request. */
  ms: number;
  what: string;
}

/**
 * The operator's first write after the bench's own write to an EtcdCluster, both timed by the
 * API server's clock in the audit log (microseconds): the change is committed when its response
 * completes; the operator's write counts from when the server received it.
 */
export function firstWriteAfterChange(events: AuditEvent[], clusterName: string): FirstWrite | undefined {
  const change = events.find((e) => e.user.username !== operatorUser && writeVerbs.has(e.verb) && e.objectRef?.resource === 'etcdclusters' && e.objectRef.name === clusterName);
  if (!change) return undefined;
  const committed = micros(change.stageTimestamp);
  const write = events.find((e) => e.user.username === operatorUser && writeVerbs.has(e.verb) && micros(e.requestReceivedTimestamp) >= committed);
  if (!write) return undefined;
  const r = write.objectRef;
  return { ms: (micros(write.requestReceivedTimestamp) - committed) / 1000, what: `${write.verb} ${r?.resource}${r?.subresource ? `/${r.subresource}` : ''} ${r?.name ?? ''}`.trim() };
}

/** Event reasons of the membership changes etcd accepted (src/controller/steps.ts). */
const memberChangeReasons = new Set(['MemberAdded', 'MemberPromoted', 'MemberRemoved', 'LeaderMoved', 'LostMemberRemoved', 'LearnerRemoved']);

/**
 * When etcd accepted the first membership change after the spec change: the operator's first
 * Event of a membership change after it (it records each accepted add; a refused one writes none;
 * the StatefulSet grown ahead of the adds writes one too, told apart by its reason), as epoch ms
 * on the API server's clock (the same host's clock as Date.now()).
 */
export function firstMemberChangeAt(events: AuditEvent[], clusterName: string): number | undefined {
  const change = events.find((e) => e.user.username !== operatorUser && writeVerbs.has(e.verb) && e.objectRef?.resource === 'etcdclusters' && e.objectRef.name === clusterName);
  if (!change) return undefined;
  const committed = micros(change.stageTimestamp);
  const event = events.find((e) => e.user.username === operatorUser && e.verb === 'create' && e.objectRef?.resource === 'events' && micros(e.requestReceivedTimestamp) >= committed && memberChangeReasons.has(e.requestObject?.reason ?? ''));
  return event ? micros(event.requestReceivedTimestamp) / 1000 : undefined;
}

/** Waits out a change in flight: until the operator has written nothing for `quietMs`. */
export async function waitQuiet(env: BenchEnvironment, quietMs: number, timeoutMs = 60_000): Promise<void> {
  let mark = env.audit.mark();
  let since = Date.now();
  await waitFor('the operator to stop writing', () => {
    const writes = env.audit.since(mark).filter((e) => e.user.username === operatorUser && writeVerbs.has(e.verb));
    mark = env.audit.mark();
    if (writes.length > 0) since = Date.now();
    return Date.now() - since >= quietMs;
  }, { timeoutMs, intervalMs: 250 });
}

/** Whether a pod's Ready condition is True. */
export const podReady = (pod: V1Pod): boolean => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * The operator's writes and the agent's pod status reports after a change, as offsets from it:
 * where the time between a change and convergence goes.
 */
export function timeline(events: AuditEvent[], clusterName: string): string[] {
  const change = events.find((e) => e.user.username !== operatorUser && writeVerbs.has(e.verb) && e.objectRef?.resource === 'etcdclusters' && e.objectRef.name === clusterName);
  if (!change) return [];
  const t0 = micros(change.stageTimestamp);
  return events
    .filter((e) => micros(e.requestReceivedTimestamp) >= t0 && writeVerbs.has(e.verb) && (e.user.username === operatorUser || e.objectRef?.subresource === 'status'))
    .map((e) => {
      const r = e.objectRef;
      const who = e.user.username === operatorUser ? 'operator' : 'agent';
      const reason = e.requestObject?.reason ? ` (${e.requestObject.reason})` : '';
      return `+${Math.round((micros(e.requestReceivedTimestamp) - t0) / 1000)} ms ${who} ${e.verb} ${r?.resource}${r?.subresource ? `/${r.subresource}` : ''} ${r?.name ?? ''}`.trim() + reason;
    });
}

export interface PodMilestones {
  /** From t0 to the first poll that saw one of the cluster's member pods. */
  firstPodMs: number;
  /** From t0 to the first poll that saw exactly `count` member pods, all Ready. */
  allReadyMs: number;
}

/**
 * Polls a cluster's member pods every 50 ms from `t0` (run it beside a wait for convergence): the
 * status follows etcd's health, the pods' Ready follows the kubelet's probes, and a user sees both.
 */
export async function podMilestones(env: BenchEnvironment, namespace: string, name: string, count: number, t0: number, timeoutMs = 240_000): Promise<PodMilestones> {
  let firstPodMs: number | undefined;
  let allReadyMs: number | undefined;
  let seen = 'no pod';
  await waitFor(`${namespace}/${name}: ${count} pods Ready`, async () => {
    const pods = (await memberPods(env, namespace, name)).filter((p) => !p.metadata?.deletionTimestamp);
    const now = performance.now() - t0;
    seen = pods.map((p) => `${p.metadata?.name} ${p.status?.phase} ready=${podReady(p)}`).join(', ');
    if (pods.length > 0) firstPodMs ??= now;
    if (pods.length === count && pods.every(podReady)) allReadyMs = now;
    return allReadyMs !== undefined;
  }, { timeoutMs, intervalMs: 50 }).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)} (last seen: ${seen})`);
  });
  return { firstPodMs: firstPodMs!, allReadyMs: allReadyMs! };
}
