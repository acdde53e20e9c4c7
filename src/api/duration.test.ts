import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['8760h', 8760 * 3600_000],
    ['1h30m', 5400_000],
    ['90s', 90_000],
    ['1.5h', 5400_000],
    ['250ms', 250],
    ['2m10s500ms', 130_500],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 'h', '10d', '1h 30m', '-1h'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());
});
