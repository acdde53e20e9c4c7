import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { RotationPlan } from '../pki/plan.js';
import { trustBundleAnnotation } from '../resources/pod-template.js';
import { describeRotation, membersRolled } from './ca-rotation.js';
import type { KubeView } from './observe-kube.js';

const sts = (hash: string, over: { generation?: number; observed?: number; revision?: string } = {}): V1StatefulSet => ({
  metadata: { generation: over.generation ?? 2 },
  spec: { replicas: 3, selector: {}, serviceName: 's', template: { metadata: { annotations: { [trustBundleAnnotation]: hash } } } },
  status: { replicas: 3, observedGeneration: over.observed ?? 2, updateRevision: over.revision ?? 'r2' },
});
const pod = (revision = 'r2', isReady = true, hash = 'h'): V1Pod => ({
  metadata: { labels: { 'controller-revision-hash': revision }, annotations: { [trustBundleAnnotation]: hash } },
  status: { conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }] },
});
const view = (s: V1StatefulSet | undefined, pods: V1Pod[]): KubeView => ({ statefulSet: s, pods: new Map(pods.map((p, i) => [i, p])), volumes: new Map(), claims: new Map(), membership: undefined });

describe('membersRolled', () => {
  it.each<[string, KubeView, boolean]>([
    ['every pod current and ready', view(sts('h'), [pod(), pod(), pod()]), true],
    ['the template carries another hash', view(sts('old'), [pod(), pod(), pod()]), false],
    ['the StatefulSet controller has not seen the template', view(sts('h', { generation: 3 }), [pod(), pod(), pod()]), false],
    ['a pod runs the previous revision', view(sts('h'), [pod(), pod('r1'), pod()]), false],
    ['a pod was created for another trust hash, whatever its revision label', view(sts('h'), [pod(), pod('r2', true, 'old'), pod()]), false],
    ['a pod is not ready', view(sts('h'), [pod(), pod(), pod('r2', false)]), false],
    ['a pod is missing', view(sts('h'), [pod(), pod()]), false],
    ['no StatefulSet', view(undefined, []), false],
  ])('%s', (_, kube, expected) => {
    expect(membersRolled(kube, 'h')).toBe(expected);
  });
});

describe('describeRotation', () => {
  it('sends an event for the steps that write and only a Progressing reason while it waits', () => {
    const r = (step: RotationPlan['step']) => describeRotation({ step, oldPem: '', nextPem: '' }, 'db-ca');
    expect(r({ kind: 'start', reason: 'Requested' }).event?.reason).toBe('CARotationStarted');
    const expiring = r({ kind: 'start', reason: 'CAExpiring', expiresAt: new Date('2026-03-01T00:03:00Z') }).event;
    expect(expiring).toEqual({ reason: 'CARotationStarted', message: expect.stringContaining('the CA expires at 2026-03-01T00:03:00.000Z, within renewBefore') as string });
    expect(r({ kind: 'widen', leaves: ['server'] }).event?.reason).toBe('CARotationWidening');
    expect(r({ kind: 'awaitRoll', phase: 'reissued' })).toEqual({ progress: { reason: 'CARotationReissuing', message: expect.stringContaining('reissued') as string } });
    expect(r({ kind: 'finish' }).event?.reason).toBe('CARotationFinished');
    expect(describeRotation(undefined, 'db-ca')).toEqual({});
  });

  it('says the rotation goes back, and why, when its next CA was lost', () => {
    const back = describeRotation({ step: { kind: 'narrow', leaves: ['server'] }, oldPem: '', nextPem: '', back: true }, 'db-ca');
    expect(back.event?.reason).toBe('CARotationNarrowing');
    expect(back.event?.message).toMatch(/^CA rotation going back to the CA in Secret db-ca \(the next CA's Secret is gone/);
    expect(back.progress?.message).toBe(back.event?.message);
    const waiting = describeRotation({ step: { kind: 'awaitRoll', phase: 'reissued' }, oldPem: '', nextPem: '', back: true }, 'db-ca');
    expect(waiting.event).toBeUndefined();
    expect(waiting.progress?.message).toMatch(/going back/);
  });
});
