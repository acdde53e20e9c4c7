import { describe, expect, it } from 'vitest';
import { KeyedBackoff } from './backoff.js';
import { FakeClock } from './clock.js';
import { backgroundMaxWaitMs, WorkQueue } from './workqueue.js';

function setup() {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, backoff: new KeyedBackoff({ baseMs: 10, capMs: 100 }) });
  return { clock, queue };
}

/** Drains what is ready now without waiting (get() on an empty queue would block). */
async function ready(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) keys.push((await queue.get())!);
  return keys;
}

describe('WorkQueue', () => {
  it('merges repeated adds of a key and keeps first-in order', async () => {
    const { queue } = setup();
    for (const key of ['a', 'b', 'a', 'c', 'b']) queue.add(key);
    expect(await ready(queue)).toEqual(['a', 'b', 'c']);
  });

  it('never hands a key to two workers: an add while processing waits for done, then runs once', async () => {
    const { queue } = setup();
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    queue.add('a');
    expect(queue.len()).toBe(0);
    queue.done(first!);
    expect(await ready(queue)).toEqual(['a']);
    queue.done('a');
    expect(queue.len()).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = setup();
    const pending = queue.get();
    queue.add('x');
    expect(await pending).toBe('x');
  });

  it('addAfter holds a key until its time and keeps the earliest of two delays', async () => {
    const { clock, queue } = setup();
    queue.addAfter('a', 1000);
    queue.addAfter('a', 300);
    queue.addAfter('a', 2000);
    clock.advance(299);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(await ready(queue)).toEqual(['a']);
    queue.done('a');
    clock.advance(5000);
    expect(queue.len()).toBe(0);
  });

  it('backs off failures per key, doubling to the cap, and forget starts over', async () => {
    const { clock, queue } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = clock.now();
      queue.addRateLimited('a');
      while (queue.len() === 0) clock.advance(1);
      delays.push(clock.now() - before);
      queue.done((await queue.get())!);
    }
    expect(delays).toEqual([10, 20, 40, 80, 100, 100]);
    expect(queue.numRequeues('a')).toBe(6);
    queue.forget('a');
    expect(queue.numRequeues('a')).toBe(0);
    // Another key's failures do not slow this one.
    queue.addRateLimited('b');
    queue.addRateLimited('b');
    queue.addRateLimited('a');
    clock.advance(10);
    expect(await ready(queue)).toEqual(['b', 'a']);
  });

  it('shutDown releases waiting workers, drops queued and delayed keys and refuses new ones', async () => {
    const { clock, queue } = setup();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    queue.addAfter('late', 10);
    queue.add('new');
    clock.advance(100);
    expect(queue.len()).toBe(0);
    expect(await queue.get()).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a key in flight at shutdown can still be marked done, and is not queued again', async () => {
    const { queue } = setup();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    queue.shutDown();
    queue.done(key!);
    expect(queue.len()).toBe(0);
    expect(queue.inFlightSince()).toEqual([]);
  });

  it('hands out events before background keys (requeues falling due, retries, resyncs)', async () => {
    const { clock, queue } = setup();
    for (const key of ['r1', 'r2', 'r3']) queue.addAfter(key, 100);
    clock.advance(100);
    queue.add('resync', 'background');
    queue.add('changed');
    expect(await ready(queue)).toEqual(['changed', 'r1', 'r2', 'r3', 'resync']);
  });

  it('an event for a key waiting in the background lane moves it up, once', async () => {
    const { queue } = setup();
    for (const key of ['a', 'b', 'c']) queue.add(key, 'background');
    queue.add('x');
    queue.add('c');
    queue.add('c', 'background');
    expect(await ready(queue)).toEqual(['x', 'c', 'a', 'b']);
  });

  it('an event for a key held by a worker, queued in the background, comes back as an event', async () => {
    const { queue } = setup();
    queue.add('a', 'background');
    const held = await queue.get();
    queue.add('a', 'background');
    queue.add('b', 'background');
    queue.add('a');
    queue.done(held!);
    expect(await ready(queue)).toEqual(['a', 'b']);
  });

  it('a background key passed over for backgroundMaxWaitMs goes before events', async () => {
    const { clock, queue } = setup();
    queue.add('old', 'background');
    queue.add('e1');
    expect(await queue.get()).toBe('e1');
    clock.advance(backgroundMaxWaitMs);
    queue.add('e2');
    expect(await ready(queue)).toEqual(['old', 'e2']);
  });

  it('overdue background keys and events take turns: a change never waits behind the whole lane', async () => {
    const { clock, queue } = setup();
    for (let i = 0; i < 5; i++) queue.add(`b${i}`, 'background');
    clock.advance(backgroundMaxWaitMs);
    for (const key of ['e1', 'e2']) queue.add(key);
    // Before, every overdue background key went first: b0..b4, then e1 and e2.
    expect(await ready(queue)).toEqual(['b0', 'e1', 'b1', 'e2', 'b2', 'b3', 'b4']);
  });

  it('a background lane that stays overdue still gets every other turn', async () => {
    const { clock, queue } = setup();
    queue.add('b0', 'background');
    queue.add('b1', 'background');
    clock.advance(backgroundMaxWaitMs);
    const handed: string[] = [];
    for (let i = 0; i < 4; i++) {
      queue.add(`e${i}`);
      const key = (await queue.get())!;
      handed.push(key);
      queue.done(key);
    }
    expect(handed).toEqual(['b0', 'e0', 'b1', 'e1']);
  });

  it('reports how long a key waited and how long it was worked on', async () => {
    const clock = new FakeClock();
    const waited: number[] = [];
    const worked: number[] = [];
    const queue = new WorkQueue({ clock, observer: { waited: (s) => waited.push(s), worked: (s) => worked.push(s) } });
    queue.add('a');
    clock.advance(250);
    const key = await queue.get();
    clock.advance(1500);
    queue.done(key!);
    expect(waited).toEqual([0.25]);
    expect(worked).toEqual([1.5]);
  });
});
