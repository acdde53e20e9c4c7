import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KubeView } from './observe-kube.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import { guardImage, heldByGuard, inStartGuard, withStartGuardProblems } from './start-guard.js';

const guarded = (running: boolean, startedAt?: Date): V1Pod => ({ status: { initContainerStatuses: [{ name: 'member-init', image: 'i', imageID: '', ready: false, restartCount: 0, state: running ? { running: { startedAt } } : { terminated: { exitCode: 0 } } }] } });
const now = new Date('2026-11-30T12:00:00Z');
const member = (ordinal: number, healthy: boolean): MemberView => ({ id: `${ordinal}`, name: `c-${ordinal}`, ordinal, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: undefined, healthy, isLeader: false, problem: healthy ? undefined : 'not answering' });

describe('start guard in the status', () => {
  it('knows a pod whose guard runs', () => {
    expect(inStartGuard(guarded(true))).toBe(true);
    expect(inStartGuard(guarded(false))).toBe(false);
    expect(inStartGuard(undefined)).toBe(false);
  });

  it('explains only unhealthy members whose pod waits in the guard, without changing the view', () => {
    const etcd: EtcdView = { clusterId: '1', leaderId: '0', quorumConfirmed: true, members: [member(0, true), member(1, false), member(2, false)] };
    const kube = { pods: new Map([[0, guarded(true)], [1, guarded(true)], [2, guarded(false)]]) } as unknown as KubeView;
    const out = withStartGuardProblems(etcd, kube, now)!;
    expect(out.members.map((m) => m.problem)).toEqual([undefined, expect.stringContaining('the volume is empty'), 'not answering']);
    expect(etcd.members[1]!.problem).toBe('not answering');
    expect(withStartGuardProblems(undefined, kube, now)).toBeUndefined();
  });

  it('calls a member in its guard for less than the grace starting, not held: a roll or a restart passes through it', () => {
    const etcd: EtcdView = { clusterId: '1', leaderId: '0', quorumConfirmed: true, members: [member(0, true), member(1, false), member(2, false)] };
    const kube = { pods: new Map([[1, guarded(true, new Date(now.getTime() - 2_000))], [2, guarded(true, new Date(now.getTime() - 20_000))]]) } as unknown as KubeView;
    const problems = withStartGuardProblems(etcd, kube, now)!.members.map((m) => m.problem);
    expect(problems[1]).toMatch(/^starting: /);
    expect(problems[2]).toMatch(/the volume is empty/);
  });

  it('says why a member is down when its pod cannot run etcd at all', () => {
    const etcd: EtcdView = { clusterId: '1', leaderId: '0', quorumConfirmed: true, members: [member(0, true), member(1, false)] };
    const pulling: V1Pod = { status: { containerStatuses: [{ name: 'etcd', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } }] } };
    const kube = { pods: new Map([[0, pulling], [1, pulling]]) } as unknown as KubeView;
    expect(withStartGuardProblems(etcd, kube, now)!.members.map((m) => m.problem)).toEqual([undefined, 'its pod cannot run etcd: container etcd: ImagePullBackOff: no such image']);
  });

  it('counts a pod as held (its volume found empty) only once its guard ran past the grace', () => {
    expect(heldByGuard(guarded(true, new Date(now.getTime() - 2_000)), now)).toBe(false);
    expect(heldByGuard(guarded(true, new Date(now.getTime() - 20_000)), now)).toBe(true);
    expect(heldByGuard(guarded(false), now)).toBe(false);
    expect(heldByGuard(undefined, now)).toBe(false);
  });

  it('keeps the guard image the StatefulSet runs while its invocation is unchanged, so an operator upgrade rolls no member', () => {
    const sts = (image?: string, args = ['--a']) => ({ spec: { selector: {}, serviceName: 's', template: { spec: { containers: [], initContainers: image ? [{ name: 'member-init', image, args }] : [] } } } });
    const desired = sts('op:v0.2.0');
    expect(guardImage(sts('op:v0.1.0'), desired, 'op:v0.2.0')).toBe('op:v0.1.0');
    expect(guardImage(sts('op:v0.1.0', ['--old']), desired, 'op:v0.2.0')).toBe('op:v0.2.0');
    expect(guardImage(sts(), desired, 'op:v0.2.0')).toBe('op:v0.2.0');
    expect(guardImage(undefined, desired, 'op:v0.2.0')).toBe('op:v0.2.0');
  });

  it('reads the live StatefulSet with the API server defaults in it as the same invocation', () => {
    const env = (apiVersion?: string) => [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name', ...(apiVersion ? { apiVersion } : {}) } } }];
    const sts = (image: string, withDefaults: boolean) => ({
      spec: { selector: {}, serviceName: 's', template: { spec: { containers: [], initContainers: [{ name: 'member-init', image, args: ['--a'], env: env(withDefaults ? 'v1' : undefined) }] } } },
    });
    // Before: the defaulted apiVersion made every operator upgrade roll every member.
    expect(guardImage(sts('op:v0.1.0', true), sts('op:v0.2.0', false), 'op:v0.2.0')).toBe('op:v0.1.0');
    const changed = { ...sts('op:v0.2.0', false) };
    changed.spec.template.spec.initContainers[0]!.env = [{ name: 'OTHER', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
    expect(guardImage(sts('op:v0.1.0', true), changed, 'op:v0.2.0')).toBe('op:v0.2.0');
  });
});
