import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { KeyPool } from './key-pool.js';
import type { KeyPair } from './x509.js';

/** A generator that counts its calls and hands out distinct fake keys. */
function counter(opts: { fail?: boolean } = {}) {
  let n = 0;
  const generate = async (): Promise<KeyPair> => {
    const id = ++n;
    await sleep(1);
    if (opts.fail) throw new Error('no entropy');
    return { privateKeyPem: `key-${id}`, publicKeyPem: `pub-${id}` };
  };
  return { generate, calls: () => n };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(2);
  expect(cond()).toBe(true);
};

describe('KeyPool', () => {
  it('generates on demand until started, and keeps nothing', async () => {
    const g = counter();
    const pool = new KeyPool(g.generate);
    expect((await pool.take()).privateKeyPem).toBe('key-1');
    await sleep(20);
    expect(pool.available).toBe(0);
    expect(g.calls()).toBe(1);
  });

  it('fills to its size in the background once started, and no further', async () => {
    const g = counter();
    const pool = new KeyPool(g.generate);
    pool.start({ size: 5, refillDelayMs: 0 });
    await until(() => pool.available === 5);
    await sleep(20);
    expect(g.calls()).toBe(5);
    pool.stop();
  });

  it('hands out ready keys without generating, each key once, then refills', async () => {
    const g = counter();
    const pool = new KeyPool(g.generate);
    pool.start({ size: 5, refillDelayMs: 0 });
    await until(() => pool.available === 5);
    const taken = await Promise.all([1, 2, 3, 4, 5].map(() => pool.take()));
    expect(new Set(taken.map((k) => k.privateKeyPem)).size).toBe(5);
    expect(g.calls()).toBe(5);
    await until(() => pool.available === 5);
    const again = await pool.take();
    expect(taken.map((k) => k.privateKeyPem)).not.toContain(again.privateKeyPem);
    pool.stop();
  });

  it('generates on demand when empty (a burst larger than the pool)', async () => {
    const g = counter();
    const pool = new KeyPool(g.generate);
    pool.start({ size: 2, refillDelayMs: 60_000 });
    await until(() => pool.available === 2);
    const keys = await Promise.all([1, 2, 3, 4].map(() => pool.take()));
    expect(new Set(keys.map((k) => k.privateKeyPem)).size).toBe(4);
    expect(pool.available).toBe(0);
    pool.stop();
  });

  it('waits the refill delay after a take before generating again', async () => {
    const g = counter();
    const pool = new KeyPool(g.generate);
    pool.start({ size: 1, refillDelayMs: 100 });
    await until(() => pool.available === 1);
    await pool.take();
    await sleep(30);
    expect(g.calls()).toBe(1);
    await until(() => pool.available === 1);
    expect(g.calls()).toBe(2);
    pool.stop();
  });

  it('a failing background generation leaves the error to take', async () => {
    const g = counter({ fail: true });
    const pool = new KeyPool(g.generate);
    pool.start({ size: 3, refillDelayMs: 0 });
    await sleep(20);
    expect(pool.available).toBe(0);
    await expect(pool.take()).rejects.toThrow('no entropy');
    pool.stop();
  });

  it('stop drops the keys it held and refills no more', async () => {
    const g = counter();
    const pool = new KeyPool(g.generate);
    pool.start({ size: 3, refillDelayMs: 0 });
    await until(() => pool.available === 3);
    pool.stop();
    expect(pool.available).toBe(0);
    await pool.take();
    await sleep(20);
    expect(g.calls()).toBe(4);
  });
});
