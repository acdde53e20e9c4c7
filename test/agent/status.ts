import type { V1ContainerState, V1ContainerStatus, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';

export type PodStatus = Wire<V1PodStatus>;

export interface Terminated {
  kind: 'terminated';
  exitCode: number;
  /** The signal that ended the process, if one did. */
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

export type ContainerState = { kind: 'waiting'; reason: string; message?: string } | { kind: 'running'; startedAt: string } | Terminated;

/** What the agent knows of one container: the source of its containerStatus. */
export interface ContainerRecord {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  restartCount: number;
  state: ContainerState;
  lastTerminated?: Terminated;
  started: boolean;
  ready: boolean;
}

export interface PodRecord {
  hostIP: string;
  podIP?: string;
  /** Address allocated and volumes set up: containers may start. */
  sandboxReady: boolean;
  startTime?: string;
  restartPolicy: string;
  /** Init containers, run one at a time to completion before `containers`. */
  initContainers?: ContainerRecord[];
  /** Every init container completed (true for a pod without them). */
  initialized?: boolean;
  containers: ContainerRecord[];
}

function wireState(state: ContainerState | undefined): Wire<V1ContainerState> {
  if (!state) return {};
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, message: state.message } };
    case 'running':
      return { running: { startedAt: state.startedAt } };
    case 'terminated': {
      const { exitCode, signal, reason, message, startedAt, finishedAt, containerID } = state;
      return { terminated: { exitCode, signal, reason, message, startedAt, finishedAt, containerID } };
    }
  }
}

function containerStatus(c: ContainerRecord): Wire<V1ContainerStatus> {
  return {
    name: c.name,
    image: c.image,
    imageID: c.imageID,
    containerID: c.containerID,
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: wireState(c.state),
    lastState: wireState(c.lastTerminated),
  };
}

/** The kubelet's phase rules: Pending until every init container completed, then by containers. */
export function podPhase(record: PodRecord): string {
  // Under restartPolicy Never a failed init container is final: the pod failed.
  const initFailed = (record.initContainers ?? []).some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
  if (record.restartPolicy === 'Never' && initFailed) return 'Failed';
  if (record.initialized === false) return 'Pending';
  const cs = record.containers;
  if (cs.length === 0 || cs.some((c) => c.state.kind === 'waiting' && !c.lastTerminated)) return 'Pending';
  if (cs.some((c) => c.state.kind === 'running')) return 'Running';
  const exits = cs.map((c) => (c.state.kind === 'terminated' ? c.state.exitCode : (c.lastTerminated?.exitCode ?? 0)));
  const allSucceeded = exits.every((code) => code === 0);
  if (record.restartPolicy === 'Always') return 'Running';
  if (allSucceeded) return 'Succeeded';
  return record.restartPolicy === 'OnFailure' ? 'Running' : 'Failed';
}

type Condition = Wire<V1PodCondition>;

/** A condition whose lastTransitionTime moves only when its status does. */
function condition(type: string, ok: boolean, now: string, previous: Condition[], reason?: string, message?: string): Condition {
  const status = ok ? 'True' : 'False';
  const old = previous.find((c) => c.type === type);
  const lastTransitionTime = old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now;
  return { type, status, lastTransitionTime, ...(ok ? {} : { reason, message }) };
}

/**
 * The pod status the kubelet would report, rebuilt from the agent's record each time. The
 * PodScheduled condition belongs to the scheduler and is carried over as it is.
 */
export function buildPodStatus(record: PodRecord, previous: PodStatus | undefined, now: string): PodStatus {
  const old = previous?.conditions ?? [];
  const unready = record.containers.filter((c) => !c.ready).map((c) => c.name);
  const allReady = record.containers.length > 0 && unready.length === 0;
  const notReadyMessage = `containers with unready status: [${unready.join(' ')}]`;
  const scheduled = old.find((c) => c.type === 'PodScheduled');
  const inits = record.initContainers ?? [];
  const incomplete = inits.filter((c) => !(c.state.kind === 'terminated' && c.state.exitCode === 0)).map((c) => c.name);
  const conditions = [
    condition('PodReadyToStartContainers', record.sandboxReady, now, old),
    condition('Initialized', record.initialized ?? true, now, old, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
    condition('Ready', allReady, now, old, 'ContainersNotReady', notReadyMessage),
    condition('ContainersReady', allReady, now, old, 'ContainersNotReady', notReadyMessage),
    ...(scheduled ? [scheduled] : []),
  ];
  const ip = record.podIP;
  return {
    phase: podPhase(record),
    conditions,
    hostIP: record.hostIP,
    hostIPs: [{ ip: record.hostIP }],
    podIP: ip,
    podIPs: ip ? [{ ip }] : undefined,
    startTime: record.startTime,
    ...(inits.length > 0 ? { initContainerStatuses: inits.map(containerStatus) } : {}),
    containerStatuses: record.containers.map(containerStatus),
  };
}

/** RFC 3339 at second precision, as the API server stores times. */
export function wireTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
