import { describe, expect, it } from 'vitest';
import { cronPattern } from '../api/schema-spec.js';
import { type Cron, latestFire, longestIntervalMs, nextFire, parseCron } from './cron.js';

const at = (iso: string) => new Date(iso);
const cron = (expr: string): Cron => {
  const c = parseCron(expr);
  if ('error' in c) throw new Error(c.error);
  return c;
};

describe('parseCron', () => {
  it.each([
    ['61 * * * *', 'outside 0-59'],
    ['* * * *', 'needs 5 fields'],
    ['* * * * * *', 'needs 5 fields'],
    ['*/0 * * * *', 'outside'],
    ['5-1 * * * *', 'outside'],
    ['a * * * *', 'is not a number'],
    ['* * 0 * *', 'outside 1-31'],
    ['* * * 13 *', 'outside 1-12'],
  ])('refuses %s', (expr, says) => {
    const c = parseCron(expr);
    expect('error' in c && c.error).toContain(says);
  });
});

describe('nextFire (UTC)', () => {
  it.each([
    ['* * * * *', '2026-01-01T00:00:30Z', '2026-01-01T00:01:00Z'],
    ['* * * * *', '2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z'],
    ['*/15 * * * *', '2026-01-01T00:01:00Z', '2026-01-01T00:15:00Z'],
    ['0 2 * * *', '2026-01-01T02:00:00Z', '2026-01-02T02:00:00Z'],
    ['30 1 * * 0', '2026-01-01T00:00:00Z', '2026-01-04T01:30:00Z'],
    ['30 1 * * 7', '2026-01-01T00:00:00Z', '2026-01-04T01:30:00Z'],
    ['0 0 1 * *', '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z'],
    ['0 0 31 * *', '2026-02-01T00:00:00Z', '2026-03-31T00:00:00Z'],
    ['0 0 29 2 *', '2026-01-01T00:00:00Z', '2028-02-29T00:00:00Z'],
    ['0 12 13 * 5', '2026-01-01T00:00:00Z', '2026-01-02T12:00:00Z'],
    ['@daily', '2026-12-31T23:59:00Z', '2027-01-01T00:00:00Z'],
    ['0 9-17/4 * * 1-5', '2026-01-02T13:00:00Z', '2026-01-02T17:00:00Z'],
  ])('%s after %s is %s', (expr, after, want) => {
    expect(nextFire(cron(expr), at(after))?.toISOString()).toBe(at(want).toISOString());
  });

  it('a schedule that never fires gives undefined', () => {
    expect(nextFire(cron('0 0 30 2 *'), at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('latestFire', () => {
  const hourly = cron('0 * * * *');
  it('is the newest slot in (from, to], skipping the missed ones', () => {
    expect(latestFire(hourly, at('2026-01-01T00:00:00Z'), at('2026-01-01T05:30:00Z'))?.toISOString()).toBe('2026-01-01T05:00:00.000Z');
  });
  it('is undefined when no slot came since the last one', () => {
    expect(latestFire(hourly, at('2026-01-01T05:00:00Z'), at('2026-01-01T05:59:59Z'))).toBeUndefined();
  });
  it('includes a slot exactly at `to`', () => {
    expect(latestFire(hourly, at('2026-01-01T05:00:00Z'), at('2026-01-01T06:00:00Z'))?.toISOString()).toBe('2026-01-01T06:00:00.000Z');
  });
});

// The CRD refuses schedules with this pattern (CEL's RE2 reads it as JavaScript does here): it
// must accept what the parser accepts, and refuse what is out of range.
describe('the CRD pattern agrees with parseCron', () => {
  const pattern = new RegExp(cronPattern);
  it.each(['* * * * *', '*/15 * * * *', '0 */6 * * *', '0 2 * * 1-5', '0,30 8-18/2 1,15 1-12 0-7', '59 23 31 12 7', '05 07 09 06 0', '@daily', '@hourly', '0 0 30 2 *'])('accepts %j', (expr) => {
    expect(pattern.test(expr)).toBe(true);
    expect('error' in parseCron(expr)).toBe(false);
  });
  it.each(['60 * * * *', '* 24 * * *', '* * 0 * *', '* * 32 * *', '* * * 13 *', '* * * 0 *', '* * * * 8', '*/0 * * * *', '* * * *', '* * * * * *', 'a * * * *', '1,,2 * * * *', '@every 5m', ' * * * * *'])('refuses %j', (expr) => {
    expect(pattern.test(expr)).toBe(false);
  });
});

describe('longestIntervalMs', () => {
  const from = at('2026-03-10T12:34:56Z');
  const hour = 3_600_000;
  it.each([
    ['* * * * *', 60_000],
    ['*/15 * * * *', 15 * 60_000],
    ['0 */6 * * *', 6 * hour],
    ['0 0,20 * * *', 20 * hour],
    ['0 2 * * 1-5', 72 * hour],
    ['@weekly', 7 * 24 * hour],
    ['0 0 31 * *', 61 * 24 * hour],
    ['@yearly', 366 * 24 * hour],
  ])('%s -> %d ms', (expr, ms) => expect(longestIntervalMs(cron(expr), from)).toBe(ms));

  it('none for a schedule that never fires', () => expect(longestIntervalMs(cron('0 0 30 2 *'), from)).toBeUndefined());
});
