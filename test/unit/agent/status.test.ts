import { describe, expect, it } from 'vitest';
import { CrashBackoff } from '../../agent/backoff.js';
import { describeExit } from '../../agent/container.js';
import { buildPodStatus, type ContainerRecord, type PodRecord, podPhase, type Terminated } from '../../agent/status.js';

const t0 = '2026-01-01T00:00:00Z';
const t1 = '2026-01-01T00:01:00Z';
const exited = (exitCode: number): Terminated => ({ kind: 'terminated', exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: t0, finishedAt: t1, containerID: 'local-agent://1' });
function container(overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return { name: 'etcd', image: 'img', imageID: 'file:///x', restartCount: 0, state: { kind: 'running', startedAt: t0 }, started: true, ready: true, ...overrides };
}
const record = (containers: ContainerRecord[], restartPolicy = 'Always'): PodRecord => ({ hostIP: '127.0.0.1', podIP: '127.64.0.2', sandboxReady: true, startTime: t0, restartPolicy, containers });

describe('pod status', () => {
  it('phase follows the kubelet rules', () => {
    expect(podPhase(record([container({ state: { kind: 'waiting', reason: 'ErrImagePull' } })]))).toBe('Pending');
    expect(podPhase(record([container()]))).toBe('Running');
    const backingOff = container({ state: { kind: 'waiting', reason: 'CrashLoopBackOff' }, lastTerminated: exited(1) });
    expect(podPhase(record([backingOff]))).toBe('Running');
    expect(podPhase(record([container({ state: exited(0) })], 'Never'))).toBe('Succeeded');
    expect(podPhase(record([container({ state: exited(2) })], 'Never'))).toBe('Failed');
    expect(podPhase(record([container({ state: exited(2) })], 'OnFailure'))).toBe('Running');
  });

  it('stays Pending and not Initialized while an init container has not completed, then reports it', () => {
    const guard = container({ name: 'member-init', started: true, ready: false });
    const waiting = container({ state: { kind: 'waiting', reason: 'PodInitializing' }, started: false, ready: false });
    const initializing: PodRecord = { ...record([waiting]), initContainers: [guard], initialized: false };
    expect(podPhase(initializing)).toBe('Pending');
    const status = buildPodStatus(initializing, undefined, t1);
    expect(status.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [member-init]' });
    expect(status.initContainerStatuses?.[0]?.state?.running).toBeDefined();
    const done: PodRecord = { ...record([container()]), initContainers: [container({ name: 'member-init', state: exited(0), ready: false })], initialized: true };
    expect(podPhase(done)).toBe('Running');
    expect(buildPodStatus(done, undefined, t1).conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
  });

  it('reports addresses, conditions and container states, keeping PodScheduled and unchanged transition times', () => {
    const previous = {
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: t0 },
        { type: 'Ready', status: 'False', lastTransitionTime: t0 },
        { type: 'Initialized', status: 'True', lastTransitionTime: t0 },
      ],
    };
    const c = container({ restartCount: 1, lastTerminated: exited(137) });
    const status = buildPodStatus(record([c]), previous, t1);
    expect(status.phase).toBe('Running');
    expect(status.podIPs).toEqual([{ ip: '127.64.0.2' }]);
    expect(status.hostIPs).toEqual([{ ip: '127.0.0.1' }]);
    const byType = Object.fromEntries((status.conditions ?? []).map((x) => [x.type, x]));
    expect(byType.PodScheduled).toEqual(previous.conditions[0]);
    expect(byType.Initialized?.lastTransitionTime).toBe(t0);
    expect(byType.Ready).toMatchObject({ status: 'True', lastTransitionTime: t1 });
    expect(status.containerStatuses?.[0]).toMatchObject({
      ready: true,
      started: true,
      restartCount: 1,
      state: { running: { startedAt: t0 } },
      lastState: { terminated: { exitCode: 137, reason: 'Error' } },
    });
  });

  it('says which containers are not ready', () => {
    const status = buildPodStatus(record([container({ ready: false })]), undefined, t1);
    expect(status.conditions?.find((x) => x.type === 'ContainersReady')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [etcd]' });
  });

  it('reports signals as 128+N, as container runtimes do', () => {
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toEqual({ exitCode: 137, signal: 9, reason: 'Error' });
    expect(describeExit({ code: 0, signal: null })).toEqual({ exitCode: 0, reason: 'Completed' });
    expect(describeExit({ code: 1, signal: null })).toEqual({ exitCode: 1, reason: 'Error' });
  });
});

describe('crash-loop backoff', () => {
  it('restarts at once, then waits 10s doubling to the cap, and forgets after two quiet caps', () => {
    const b = new CrashBackoff({ initialMs: 10_000, capMs: 60_000 });
    const delays = [0, 1, 2, 3, 4, 5].map((i) => b.next(i * 1000));
    expect(delays).toEqual([0, 10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(b.next(5_000 + 120_001)).toBe(0);
  });
});
