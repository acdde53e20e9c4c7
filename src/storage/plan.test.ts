import { describe, expect, it } from 'vitest';
import { type ObservedClaim, type StorageObservation, type StorageStep, planStorage } from './plan.js';

const claim = (ordinal: number, requested: string, capacity: string | undefined = requested, className = 'fast'): ObservedClaim => ({ ordinal, name: `data-x-${ordinal}`, className, requested, capacity });

const base: StorageObservation = {
  desired: '2Gi',
  statefulSet: { replicas: 3, claimSize: '1Gi', deleting: false },
  claims: [claim(0, '1Gi'), claim(1, '1Gi'), claim(2, '1Gi')],
  classes: { fast: 'expandable' },
  membershipIdle: true,
};

const cases: [string, Partial<StorageObservation>, StorageStep][] = [
  ['nothing to grow', { desired: '1Gi' }, { kind: 'none' }],
  ['the same size spelled otherwise', { desired: '1024Mi' }, { kind: 'none' }],
  ['EmptyDir storage', { desired: undefined }, { kind: 'none' }],
  ['no StatefulSet yet (membership creates it)', { statefulSet: undefined }, { kind: 'none' }],
  ['growth: the lowest ordinal first', {}, { kind: 'expandClaim', ordinal: 0, claim: 'data-x-0', from: '1Gi', to: '2Gi' }],
  ['one claim at a time: wait while one resizes', { claims: [claim(0, '2Gi', '1Gi'), claim(1, '1Gi'), claim(2, '1Gi')] }, { kind: 'wait', reason: 'claimResizing', claim: 'data-x-0', requested: '2Gi', capacity: '1Gi' }],
  ['then the next claim', { claims: [claim(0, '2Gi'), claim(1, '1Gi'), claim(2, '1Gi')] }, { kind: 'expandClaim', ordinal: 1, claim: 'data-x-1', from: '1Gi', to: '2Gi' }],
  ['every claim grown: recreate the StatefulSet', { claims: [claim(0, '2Gi'), claim(1, '2Gi'), claim(2, '2Gi')] }, { kind: 'recreateStatefulSet', replicas: 3, from: '1Gi', to: '2Gi' }],
  ['claims grown by hand: only the StatefulSet', { claims: [claim(0, '4Gi'), claim(1, '2Gi'), claim(2, '2Gi')] }, { kind: 'recreateStatefulSet', replicas: 3, from: '1Gi', to: '2Gi' }],
  ['the StatefulSet being deleted: wait', { statefulSet: { replicas: 3, claimSize: '1Gi', deleting: true } }, { kind: 'wait', reason: 'statefulSetDeleting' }],
  ['done', { statefulSet: { replicas: 3, claimSize: '2Gi', deleting: false }, claims: [claim(0, '2Gi'), claim(1, '2Gi'), claim(2, '2Gi')] }, { kind: 'none' }],
  ['claims of removed members are left alone', { statefulSet: { replicas: 3, claimSize: '2Gi', deleting: false }, claims: [claim(0, '2Gi'), claim(1, '2Gi'), claim(2, '2Gi'), claim(3, '1Gi')] }, { kind: 'none' }],
  ['a new member of a scale-up gets the new size too', { statefulSet: { replicas: 4, claimSize: '2Gi', deleting: false }, claims: [claim(0, '2Gi'), claim(1, '2Gi'), claim(2, '2Gi'), claim(3, '1Gi')] }, { kind: 'expandClaim', ordinal: 3, claim: 'data-x-3', from: '1Gi', to: '2Gi' }],
  ['an unbound claim is not waited for', { claims: [claim(0, '1Gi', undefined), claim(1, '2Gi'), claim(2, '2Gi')] }, { kind: 'expandClaim', ordinal: 0, claim: 'data-x-0', from: '1Gi', to: '2Gi' }],
  ['membership busy: no growth', { membershipIdle: false }, { kind: 'none' }],
  ['a class that cannot expand: refused, nothing changes', { classes: { fast: 'fixed' } }, { kind: 'refuse', className: 'fast', state: 'fixed', claims: ['data-x-0', 'data-x-1', 'data-x-2'], size: '2Gi' }],
  ['refused even while membership is busy', { classes: { fast: 'fixed' }, membershipIdle: false }, { kind: 'refuse', className: 'fast', state: 'fixed', claims: ['data-x-0', 'data-x-1', 'data-x-2'], size: '2Gi' }],
  ['refused even half-way: no claim grows further', { classes: { fast: 'fixed' }, claims: [claim(0, '2Gi'), claim(1, '1Gi'), claim(2, '1Gi')] }, { kind: 'refuse', className: 'fast', state: 'fixed', claims: ['data-x-1', 'data-x-2'], size: '2Gi' }],
  ['a class that is gone: refused', { classes: { fast: 'missing' } }, { kind: 'refuse', className: 'fast', state: 'missing', claims: ['data-x-0', 'data-x-1', 'data-x-2'], size: '2Gi' }],
  ['a claim without a class: refused', { claims: [claim(0, '1Gi', '1Gi', '')] }, { kind: 'refuse', className: '', state: 'missing', claims: ['data-x-0'], size: '2Gi' }],
  ['a class the operator may not read: the API server decides', { classes: {} }, { kind: 'expandClaim', ordinal: 0, claim: 'data-x-0', from: '1Gi', to: '2Gi' }],
];

describe('planStorage', () => {
  it.each(cases)('%s', (_title, change, want) => {
    const o = { ...base, ...change };
    const before = JSON.stringify(o);
    expect(planStorage(o)).toEqual(want);
    expect(JSON.stringify(o)).toBe(before);
  });
});
