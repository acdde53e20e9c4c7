import { describe, expect, it } from 'vitest';
import { bytesOf } from './quantity.js';

describe('bytesOf', () => {
  it.each([
    ['1Gi', 1073741824n],
    ['2Gi', 2147483648n],
    ['1024Mi', 1073741824n],
    ['1G', 1000000000n],
    ['500M', 500000000n],
    ['1.5Gi', 1610612736n],
    ['1073741824', 1073741824n],
    ['1e9', 1000000000n],
    ['8Ei', 9223372036854775808n],
    ['0.5', 1n],
  ])('%s is %s bytes', (q, bytes) => expect(bytesOf(q)).toBe(bytes));

  it.each(['', 'Gi', '1gi', '1 Gi', '-1Gi', 'ten'])('%j is not a quantity', (q) => expect(bytesOf(q)).toBeUndefined());

  it('compares across spellings', () => expect(bytesOf('1Gi')! < bytesOf('1.1G')!).toBe(true));
});
