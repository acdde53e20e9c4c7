import { describe, expect, it } from 'vitest';
import { replacingPatch } from './kube-writer.js';

describe('replacingPatch', () => {
  it('deletes keys gone at any depth, replaces lists whole, keeps the rest', () => {
    const previous = { replicas: 3, leader: 'a', members: [{ name: 'a' }, { name: 'b' }], backup: { lastSuccessful: { name: 'x', revision: 1 }, lastFailed: { name: 'y' } } };
    const next = { replicas: 3, members: [{ name: 'a' }], backup: { lastSuccessful: { name: 'z' } } };
    expect(replacingPatch(previous, next)).toEqual({ replicas: 3, leader: null, members: [{ name: 'a' }], backup: { lastSuccessful: { name: 'z', revision: null }, lastFailed: null } });
  });

  it('a new nested object is sent as it is', () => {
    expect(replacingPatch({}, { backup: { failuresSinceSuccess: 0 } })).toEqual({ backup: { failuresSinceSuccess: 0 } });
  });
});
