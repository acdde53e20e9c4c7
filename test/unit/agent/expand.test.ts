import { describe, expect, it } from 'vitest';
import { expandAll, expandReferences } from '../../agent/expand.js';

const env = new Map([
  ['POD_NAME', 'demo-0'],
  ['POD_IP', '127.64.0.2'],
  ['EMPTY', ''],
]);
const expand = (s: string) => expandReferences(s, (n) => env.get(n));

describe('$(VAR) expansion (kubelet semantics)', () => {
  it.each([
    ['--name=$(POD_NAME)', '--name=demo-0'],
    ['https://$(POD_IP):2379', 'https://127.64.0.2:2379'],
    ['$(POD_NAME).$(POD_NAME)', 'demo-0.demo-0'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['x$(EMPTY)y', 'xy'],
    ['$$(POD_NAME)', '$(POD_NAME)'],
    ['$$$(POD_NAME)', '$demo-0'],
    ['$$', '$'],
    ['cost $5', 'cost $5'],
    ['trailing $', 'trailing $'],
    ['$(POD_NAME', '$(POD_NAME'],
    ['$()', '$()'],
    ['no references', 'no references'],
  ])('%s -> %s', (input, output) => {
    expect(expand(input)).toBe(output);
  });

  it('expands a whole argument list against one environment', () => {
    expect(expandAll(['--a=$(POD_NAME)', '--b'], env)).toEqual(['--a=demo-0', '--b']);
    expect(expandAll(undefined, env)).toEqual([]);
  });
});
