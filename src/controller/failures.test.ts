import { describe, expect, it } from 'vitest';
import { EtcdAdminError } from '../etcd/errors.js';
import { KubeApiError } from '../runtime/kube-http.js';
import { LeadershipLostError } from '../runtime/pass-scope.js';
import { describeFailure } from './failures.js';

describe('describeFailure', () => {
  it.each<[string, unknown, string | undefined, string | undefined]>([
    [
      'an API refusal names the request and the server\'s words',
      new KubeApiError(422, 'Invalid', 'StatefulSet.apps "c" is invalid: spec: Forbidden: updates to statefulset spec for fields other than ...', undefined, 'PATCH /apis/apps/v1/namespaces/ns/statefulsets/c'),
      'KubernetesRefused',
      'the API server refused PATCH /apis/apps/v1/namespaces/ns/statefulsets/c (HTTP 422 Invalid): StatefulSet.apps "c" is invalid',
    ],
    ['an etcd refusal names the call', new EtcdAdminError({ kind: 'MemberNotFound', op: 'memberRemove', endpoint: 'https://a:2379', mutating: true }), 'EtcdRefused', 'etcd refused memberRemove at https://a:2379: MemberNotFound'],
    ['anything else is a failed pass', new Error('boom'), 'ReconcileError', 'the last pass failed: boom'],
    ['a deposed leader reports nothing', new LeadershipLostError('lease gone'), undefined, undefined],
  ])('%s', (_title, err, reason, message) => {
    const f = describeFailure(err);
    expect(f?.reason).toBe(reason);
    if (message) expect(f?.message).toContain(message);
  });
});
