import { describe, expect, it } from 'vitest';
import { apiPathOf } from '../e2e/api-get.js';

describe('e2e: which kubectl gets go to the API directly', () => {
  it.each([
    [['get', 'etcdcluster', 'main', '-n', 'db', '-o', 'json'], '/apis/etcd.operator.dev/v1alpha1/namespaces/db/etcdclusters/main'],
    [['get', 'pod', 'main-0', '-n', 'db', '-o', 'json'], '/api/v1/namespaces/db/pods/main-0'],
    [['get', 'pods', '-n', 'db', '-l', 'a=b,c=d', '-o', 'json'], '/api/v1/namespaces/db/pods?labelSelector=a%3Db%2Cc%3Dd'],
    [['get', 'events', '-n', 'db', '--field-selector', 'reason=X', '-o', 'json'], '/api/v1/namespaces/db/events?fieldSelector=reason%3DX'],
    [['get', 'pv', 'pvc-1', '-o', 'json'], '/api/v1/persistentvolumes/pvc-1'],
    [['get', 'statefulset', 'main', '-n', 'db', '-o', 'json'], '/apis/apps/v1/namespaces/db/statefulsets/main'],
  ])('%j -> %s', (args, path) => {
    expect(apiPathOf(args)).toBe(path);
  });

  it.each([
    [['get', 'pods', '-n', 'db', '-o', 'name']],
    [['get', 'pod,statefulset', '-n', 'db', '-o', 'json']],
    [['get', 'pvc', 'x', '-n', 'db', '--ignore-not-found', '-o', 'json']],
    [['get', 'events', '-n', 'db', '--sort-by=.lastTimestamp', '-o', 'json']],
    [['get', 'pod', 'x', '-o', 'json']],
    [['apply', '-f', 'x.yaml']],
    [['get', 'leases', '-n', 'db', '-o', 'json']],
  ])('%j stays kubectl', (args) => {
    expect(apiPathOf(args)).toBeUndefined();
  });
});
