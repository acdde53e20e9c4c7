import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KubeView } from './observe-kube.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import type { GuardAnswer } from './guard-evidence.js';
import { askHeldGuards, guardAskAgainMs, guardAskWindowMs, guardGraceMs, guardImage, guardLookAfterMs, heldByGuard, inStartGuard, withStartGuardProblems } from './start-guard.js';

const guarded = (running: boolean, startedAt?: Date, image = 'op:v2'): V1Pod => ({
  spec: { containers: [], initContainers: [{ name: 'member-init', image }] },
  status: { podIP: '10.0.0.1', initContainerStatuses: [{ name: 'member-init', image, imageID: '', ready: false, restartCount: 0, state: running ? { running: { startedAt } } : { terminated: { exitCode: 0 } } }] },
});
const holding = (lostMember?: string): GuardAnswer => ({ kind: 'holding', reason: 'the volume is empty but member … already ran', ...(lostMember ? { lostMember } : {}) });
const evidence = (answers: [number, GuardAnswer][]) => ({ answers: new Map(answers), guardImage: 'op:v2' });
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
    const out = withStartGuardProblems(etcd, kube, now, evidence([[1, holding('1')]]))!;
    expect(out.members.map((m) => m.problem)).toEqual([undefined, expect.stringContaining('must be replaced by a new member'), 'not answering']);
    expect(out.members.map((m) => m.heldByGuard)).toEqual([undefined, true, undefined]);
    expect(etcd.members[1]!.problem).toBe('not answering');
    expect(withStartGuardProblems(undefined, kube, now)).toBeUndefined();
  });

  it('calls a member in its guard for less than the grace starting, not held: a roll or a restart passes through it', () => {
    const etcd: EtcdView = { clusterId: '1', leaderId: '0', quorumConfirmed: true, members: [member(0, true), member(1, false), member(2, false)] };
    const kube = { pods: new Map([[1, guarded(true, new Date(now.getTime() - 2_000))], [2, guarded(true, new Date(now.getTime() - 20_000))]]) } as unknown as KubeView;
    const problems = withStartGuardProblems(etcd, kube, now, evidence([[1, holding('1')], [2, holding('2')]]))!.members.map((m) => m.problem);
    expect(problems[1]).toMatch(/^starting: /);
    expect(problems[2]).toMatch(/must be replaced by a new member/);
  });

  // Before: the pod's status alone (guard running past the grace) marked the member held, and a
  // healthy member whose status lagged while a health check timed out was removed as lost.
  it.each<[string, GuardAnswer | undefined, string, boolean]>([
    ['the guard names this member', holding('2'), 'op:v2', true],
    ['the guard names another member', holding('7'), 'op:v2', false],
    ['the guard waits for another reason (no member lost)', holding(), 'op:v2', false],
    ['etcd answers on the port: the status is behind', { kind: 'other', detail: 'HTTP 404 on /member-init' }, 'op:v2', false],
    ['nothing listens, a guard that answers', { kind: 'nothing' }, 'op:v2', false],
    ['nothing listens, an older guard image that cannot answer', { kind: 'nothing' }, 'op:v1', true],
    ['etcd answers, an older guard image', { kind: 'other', detail: 'HTTP 404 on /member-init' }, 'op:v1', false],
    ['no answer in time', { kind: 'silent', detail: 'no answer within 1000 ms' }, 'op:v2', false],
    ['not asked', undefined, 'op:v2', false],
  ])('takes a hold as proof only from the guard itself: %s', (_case, answer, podImage, held) => {
    const etcd: EtcdView = { clusterId: '1', leaderId: '0', quorumConfirmed: true, members: [member(0, true), member(2, false)] };
    const kube = { pods: new Map([[2, guarded(true, new Date(now.getTime() - 20_000), podImage)]]) } as unknown as KubeView;
    const m = withStartGuardProblems(etcd, kube, now, evidence(answer ? [[2, answer]] : []))!.members[1]!;
    expect(m.heldByGuard === true).toBe(held);
    expect(m.problem).toMatch(held ? /must be replaced by a new member/ : /not taken as proof/);
  });

  it('asks only the guards of started, unhealthy members held past the grace, at their pod IP', async () => {
    const etcd: EtcdView = { clusterId: '1', leaderId: '0', quorumConfirmed: true, members: [member(0, true), member(1, false), member(2, false), { ...member(3, false), started: false }] };
    const old = new Date(now.getTime() - 20_000);
    const pods = new Map([[0, guarded(true, old)], [1, guarded(true, new Date(now.getTime() - 2_000))], [2, guarded(true, old)], [3, guarded(true, old)]]);
    pods.get(2)!.status!.podIP = '10.0.0.3';
    const asked: string[] = [];
    const answers = await askHeldGuards(etcd, { pods } as unknown as KubeView, now, (ip) => {
      asked.push(ip);
      return Promise.resolve(holding('2'));
    });
    expect(asked).toEqual(['10.0.0.3']);
    expect([...answers.keys()]).toEqual([2]);
    expect(await askHeldGuards(undefined, { pods } as unknown as KubeView, now, () => Promise.resolve(holding()))).toEqual(new Map());
  });

  it('says why a member is down when its pod cannot run etcd at all', () => {
    const etcd: EtcdView = { clusterId: '1', leaderId: '0', quorumConfirmed: true, members: [member(0, true), member(1, false)] };
    const pulling: V1Pod = { status: { containerStatuses: [{ name: 'etcd', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } }] } };
    const kube = { pods: new Map([[0, pulling], [1, pulling]]) } as unknown as KubeView;
    expect(withStartGuardProblems(etcd, kube, now)!.members.map((m) => m.problem)).toEqual([undefined, 'its pod cannot run etcd: container etcd: ImagePullBackOff: no such image']);
  });

  it('looks again at the end of a down member\'s guard grace, then every few seconds while it is unproven', () => {
    const ago = (ms: number) => new Date(now.getTime() - ms);
    const look = (members: EtcdView['members'], pods: [number, V1Pod][]) => guardLookAfterMs({ clusterId: '1', leaderId: '0', quorumConfirmed: true, members }, { pods: new Map(pods) } as unknown as KubeView, now);
    // In its guard for 2 s: the grace ends in 3 s (a little after, so that pass finds it over).
    expect(look([member(0, true), member(1, false)], [[0, guarded(false)], [1, guarded(true, ago(2_000))]])).toBe(guardGraceMs - 2_000 + 100);
    // Past the grace and not proven (asked, no answer): ask again soon; the soonest of two.
    expect(look([member(1, false), member(2, false)], [[1, guarded(true, ago(20_000))], [2, guarded(true, ago(4_000))]])).toBe(1_100);
    expect(look([member(1, false)], [[1, guarded(true, ago(guardGraceMs + guardAskWindowMs))]])).toBe(guardAskAgainMs);
    // A minute past the grace still unproven (a guard nobody reaches): the cluster's own refresh.
    expect(look([member(1, false)], [[1, guarded(true, ago(guardGraceMs + guardAskWindowMs + 1))]])).toBe(Number.POSITIVE_INFINITY);
    // Proven (its removal is the step), healthy, never started, or not in its guard: nothing to look at.
    expect(look([{ ...member(1, false), heldByGuard: true }], [[1, guarded(true, ago(60_000))]])).toBe(Number.POSITIVE_INFINITY);
    expect(look([member(1, true), { ...member(2, false), started: false }], [[1, guarded(true, ago(1_000))], [2, guarded(true, ago(1_000))]])).toBe(Number.POSITIVE_INFINITY);
    expect(look([member(1, false)], [[1, guarded(false)]])).toBe(Number.POSITIVE_INFINITY);
    expect(guardLookAfterMs(undefined, { pods: new Map() } as unknown as KubeView, now)).toBe(Number.POSITIVE_INFINITY);
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
