import { describe, expect, it } from 'vitest';
import { isSubset } from './subset.js';

describe('isSubset', () => {
  it.each([
    ['equal scalars', 1, 1, true],
    ['different scalars', 'a', 'b', false],
    ['server-added fields are ignored', { a: 1 }, { a: 1, b: 2 }, true],
    ['a missing field is a change', { a: 1, b: 2 }, { a: 1 }, false],
    ['undefined desired fields are ignored', { a: 1, b: undefined }, { a: 1 }, true],
    ['nested objects', { s: { p: [{ port: 1 }] } }, { s: { p: [{ port: 1, protocol: 'TCP' }] } }, true],
    ['lists must have the same length', { l: [1] }, { l: [1, 2] }, false],
    ['list order matters', { l: [1, 2] }, { l: [2, 1] }, false],
    ['an object is not a list', { l: [] }, { l: {} }, false],
    ['null matches only null', { a: null }, { a: null }, true],
  ])('%s', (_name, desired, live, expected) => {
    expect(isSubset(desired, live)).toBe(expected);
  });
});
