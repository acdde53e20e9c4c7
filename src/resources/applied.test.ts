import { describe, expect, it } from 'vitest';
import { isSubset } from '../controller/subset.js';
import { appliedDigest, stamped } from './applied.js';
import { annotationKeys } from './names.js';

const sts = (nodeSelector?: Record<string, string>) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'c', namespace: 'ns', labels: { a: '1' } },
  spec: { replicas: 3, template: { spec: { nodeSelector, containers: [{ name: 'etcd', image: 'etcd:v3.6' }] } } },
});

describe('stamped', () => {
  it('makes a removed field a change the subset check sees', () => {
    const live = stamped(sts({ zone: 'a' }));
    // Without the stamp, the object without the selector is already "there".
    expect(isSubset(sts(), live)).toBe(true);
    expect(isSubset(stamped(sts()), live)).toBe(false);
    expect(isSubset(stamped(sts({ zone: 'a' })), live)).toBe(true);
  });

  it.each([
    ['key order', { b: 1, a: { y: 2, x: 1 } }, { a: { x: 1, y: 2 }, b: 1 }, true],
    ['undefined fields', { a: 1, b: undefined }, { a: 1 }, true],
    ['list order', { a: [1, 2] }, { a: [2, 1] }, false],
    ['a removed field', { a: 1, b: 2 }, { a: 1 }, false],
    ['a value', { a: '1' }, { a: 1 }, false],
  ])('digests alike or not: %s', (_, a, b, same) => {
    expect(appliedDigest(a as object) === appliedDigest(b as object)).toBe(same);
  });

  it('leaves its own stamp and the other annotations as they are, and is stable', () => {
    const once = stamped({ metadata: { annotations: { user: 'x' } }, spec: 1 });
    const annotations: Record<string, string> = once.metadata.annotations;
    expect(annotations.user).toBe('x');
    expect(annotations[annotationKeys.applied]).toMatch(/^[0-9a-f]{16}$/);
    expect(stamped(once)).toEqual(once);
    expect(stamped(undefined)).toBeUndefined();
  });

  it('does not touch the pod template, so stamping a live StatefulSet rolls no member', () => {
    expect(stamped(sts()).spec).toEqual(sts().spec);
  });
});
