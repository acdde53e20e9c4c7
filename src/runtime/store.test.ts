import { describe, expect, it } from 'vitest';
import { Store, cached } from './store.js';

const managed = [{ manager: 'etcd-operator', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }];

describe('cached', () => {
  it.each([
    ['drops managedFields and keeps the rest', { metadata: { name: 'a', namespace: 'n', resourceVersion: '7', labels: { x: 'y' }, managedFields: managed }, spec: { replicas: 1 } }, { metadata: { name: 'a', namespace: 'n', resourceVersion: '7', labels: { x: 'y' } }, spec: { replicas: 1 } }],
    ['leaves an object without them as it is', { metadata: { name: 'a' }, data: { k: 'v' } }, { metadata: { name: 'a' }, data: { k: 'v' } }],
    ['leaves an object without metadata as it is', { kind: 'Status' }, { kind: 'Status' }],
  ])('%s', (_case, input, expected) => {
    const before = structuredClone(input);
    expect(cached(input)).toEqual(expected);
    expect(input).toEqual(before);
  });

  it('a stored object read back has no managedFields and the same version', () => {
    const store = new Store();
    store.upsert(cached({ metadata: { name: 'a', namespace: 'n', resourceVersion: '7', managedFields: managed } }));
    expect(store.get('n', 'a')).toEqual({ metadata: { name: 'a', namespace: 'n', resourceVersion: '7' } });
  });
});
