import { describe, expect, it } from 'vitest';
import { longestFirst } from '../harness/test-order.js';

const e = (project: string, file: string) => ({ project, file });

describe('longestFirst', () => {
  const table: Record<string, number> = { 'e2e:a': 10, 'e2e:b': 300, 'e2e:c': 60, 'integration:x': 5, 'integration:y': 100 };
  const fromTable = (k: string) => table[k];

  it.each([
    ['longest first within a project', [e('e2e', 'a'), e('e2e', 'b'), e('e2e', 'c')], ['b', 'c', 'a']],
    ['a file with no record before the recorded ones', [e('e2e', 'a'), e('e2e', 'new'), e('e2e', 'b')], ['new', 'b', 'a']],
    ['files with no record keep their order', [e('e2e', 'n2'), e('e2e', 'n1')], ['n2', 'n1']],
    ['projects stay together, by name', [e('integration', 'x'), e('e2e', 'a'), e('integration', 'y')], ['a', 'y', 'x']],
  ])('%s', (_, files, expected) => {
    expect(longestFirst(files, [fromTable]).map((f) => f.file)).toEqual(expected);
  });

  it('asks the next source only for files the first does not know', () => {
    const local = (k: string) => ({ 'e2e:a': 1000, 'e2e:new': 1 })[k];
    expect(longestFirst([e('e2e', 'a'), e('e2e', 'new'), e('e2e', 'c')], [fromTable, local]).map((f) => f.file)).toEqual(['c', 'a', 'new']);
  });
});
