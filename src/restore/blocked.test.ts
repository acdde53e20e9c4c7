import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podBlocked } from './reconcile.js';

const waiting = (reason: string, message?: string): V1Pod => ({ status: { phase: 'Pending', initContainerStatuses: [{ name: 'fetch', image: 'op', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } }] } });

describe('podBlocked: a restore pod that cannot start says why', () => {
  it('a step waiting on a missing Secret or an image is blocked', () => {
    expect(podBlocked(waiting('CreateContainerConfigError', 'secret "s3" not found'))).toBe('step fetch waits with CreateContainerConfigError: secret "s3" not found');
    expect(podBlocked(waiting('ImagePullBackOff'))).toBe('step fetch waits with ImagePullBackOff');
  });
  it('a step on its way (PodInitializing, ContainerCreating) is not', () => {
    expect(podBlocked(waiting('PodInitializing'))).toBeUndefined();
    expect(podBlocked(waiting('ContainerCreating'))).toBeUndefined();
    expect(podBlocked({ status: { phase: 'Pending' } })).toBeUndefined();
  });
  it('an unscheduled pod is not (it reads so for a moment while its volume binds)', () => {
    expect(podBlocked({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] } })).toBeUndefined();
  });
});
