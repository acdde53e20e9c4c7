import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podCannotRun, podLookAfterMs, podNotices, unschedulableGraceMs } from './pod-state.js';

const waitingIn = (reason: string, message?: string, init = false): V1Pod => {
  const status = [{ name: init ? 'member-init' : 'etcd', image: 'i', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason, message } } }];
  return { status: init ? { initContainerStatuses: status } : { containerStatuses: status } };
};

const now = new Date('2026-12-01T12:00:00Z');
const unschedulable = (forMs: number): V1Pod => ({ status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.', lastTransitionTime: new Date(now.getTime() - forMs) }] } });

const cases: [string, V1Pod | undefined, RegExp | undefined][] = [
  ['no pod', undefined, undefined],
  ['an image that cannot be pulled', waitingIn('ErrImagePull', 'image "x": not found'), /^container etcd: ErrImagePull: image "x": not found$/],
  ['pull backoff', waitingIn('ImagePullBackOff'), /ImagePullBackOff/],
  ['etcd crash-looping (options it refuses)', waitingIn('CrashLoopBackOff', 'back-off 40s restarting failed container'), /CrashLoopBackOff/],
  ['the start guard image cannot be pulled', waitingIn('ErrImagePull', 'no such image', true), /^container member-init: ErrImagePull/],
  ['a missing ConfigMap key', waitingIn('CreateContainerConfigError'), /CreateContainerConfigError/],
  ['still being created: moves on by itself', waitingIn('ContainerCreating'), undefined],
  ['initialising: moves on by itself', waitingIn('PodInitializing'), undefined],
  ['unschedulable for the grace (requests no node holds)', unschedulable(31_000), /^Unschedulable: 0\/1 nodes/],
  ['unschedulable for a moment (its volume being bound): moves on by itself', unschedulable(5_000), undefined],
  ['a pod being deleted', { ...waitingIn('ErrImagePull'), metadata: { deletionTimestamp: new Date() } }, undefined],
  ['running', { status: { containerStatuses: [{ name: 'etcd', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } }, undefined],
];

describe('a member pod that cannot run etcd by itself', () => {
  it.each(cases)('%s', (_name, pod, expected) => {
    const why = podCannotRun(pod, now);
    if (expected) expect(why).toMatch(expected);
    else expect(why).toBeUndefined();
  });

  it('looks again as an Unschedulable pod\'s grace ends, the soonest first; nothing to look at otherwise', () => {
    const look = (...pods: V1Pod[]) => podLookAfterMs(new Map(pods.map((p, i) => [i, p])), now);
    expect(look(unschedulable(5_000), unschedulable(20_000))).toBe(unschedulableGraceMs - 20_000 + 100);
    expect(look(unschedulable(31_000), waitingIn('ErrImagePull'), { status: {} })).toBe(Number.POSITIVE_INFINITY);
    expect(look({ ...unschedulable(5_000), metadata: { deletionTimestamp: new Date() } })).toBe(Number.POSITIVE_INFINITY);
    expect(look()).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps a long message short', () => {
    expect(podCannotRun(waitingIn('ErrImagePull', 'x'.repeat(1000)), now)!.length).toBeLessThan(260);
  });

  it('gives one Warning per pod that cannot run etcd, keyed by the pod so a changing message is one state', () => {
    const named = (name: string, pod: V1Pod): V1Pod => ({ ...pod, metadata: { name } });
    const notices = podNotices(new Map([[0, named('c-0', { status: {} })], [1, named('c-1', waitingIn('ImagePullBackOff', 'no such image'))]]), now);
    expect(notices).toEqual([{ type: 'Warning', reason: 'MemberPodFailing', message: 'c-1 cannot run etcd: container etcd: ImagePullBackOff: no such image', key: 'c-1' }]);
  });
});
