import { describe, expect, it } from 'vitest';
import type { Figure } from '../../../bench/results.js';
import { targetRows, targets, verdict } from '../../../bench/targets.js';

const fig = (id: string, samples: number[], unit: Figure['unit'] = 'ms'): Figure => ({ id, section: 's', label: id, unit, samples });

describe('issue 19 targets beside one run', () => {
  it('names figures the bench records, each once', () => {
    const ids = targets.map((t) => t.figure);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('bounds apply -> pods Ready by the same run\'s floor plus 1.5 s', () => {
    const row = targetRows([fig('floor.start3', [500, 700, 600]), fig('ready.3.pods', [2000, 2200, 2050])]).find((r) => r.figure === 'ready.3.pods')!;
    expect(row.bound).toBe(2100);
    expect(row.met).toBe(2);
    expect(verdict(row)).toBe('**met** (2 of 3 samples within)');
  });

  it('says missed by the median, not by the best sample', () => {
    const row = targetRows([fig('recovery.kill', [1100, 2100, 2200])]).find((r) => r.figure === 'recovery.kill')!;
    expect(verdict(row)).toBe('**missed** (1 of 3 samples within)');
  });

  it('says when a target was not measured, or its floor was not', () => {
    const rows = targetRows([fig('ready.3.pods', [2000])]);
    expect(verdict(rows.find((r) => r.figure === 'ready.3.pods')!)).toBe('no floor in this run');
    expect(verdict(rows.find((r) => r.figure === 'many.rss')!)).toBe('not measured in this run');
    // The bound keeps its unit when the run did not measure the figure.
    expect(rows.find((r) => r.figure === 'many.rss')).toMatchObject({ unit: 'MiB', bound: 250 });
  });
});
