import { describe, expect, it } from 'vitest';
import { ParseMemo } from './parse-memo.js';

describe('ParseMemo', () => {
  it('computes once per distinct input, and inputs that only concatenate alike stay apart', () => {
    const memo = new ParseMemo<string>(10);
    let computed = 0;
    const parse = (...parts: string[]) => memo.get(parts, () => `${++computed}:${parts.join('|')}`);
    expect(parse('a', 'bc')).toBe('1:a|bc');
    expect(parse('a', 'bc')).toBe('1:a|bc');
    expect(parse('ab', 'c')).toBe('2:ab|c');
    expect(computed).toBe(2);
  });

  it('keeps at most max entries, dropping the least recently used', () => {
    const memo = new ParseMemo<number>(2);
    let computed = 0;
    const parse = (s: string) => memo.get([s], () => ++computed);
    parse('a');
    parse('b');
    parse('a'); // a is now the most recent
    parse('c'); // drops b
    expect(memo.size).toBe(2);
    expect(parse('a')).toBe(1);
    expect(parse('b')).toBe(4);
  });
});
