import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { KeyedBackoff } from './backoff.js';
import { FakeClock } from './clock.js';
import { Controller, type PassOutcome } from './controller.js';
import { type PassContext, type Result, TerminalError } from './reconciler.js';

const log = winston.createLogger({ silent: true });
/** Lets resolved promises run; the passes below never wait on real time. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

type Step = (key: string, ctx: PassContext) => Promise<Result>;

function setup(step: Step, workers = 2) {
  const clock = new FakeClock();
  const passes: { key: string; at: number }[] = [];
  const outcomes: { outcome: PassOutcome; terminal: boolean }[] = [];
  const controller = new Controller({
    name: 'test',
    workers,
    log,
    clock,
    backoff: new KeyedBackoff({ baseMs: 100, capMs: 1000 }),
    reconciler: {
      reconcile: (key, ctx) => {
        passes.push({ key, at: clock.now() });
        return step(key, ctx);
      },
    },
    observer: { passed: (outcome, _s, terminal) => outcomes.push({ outcome, terminal }) },
  });
  controller.start();
  return { clock, controller, passes, outcomes };
}

describe('Controller', () => {
  it('retries a failing key with growing backoff and stops once it succeeds', async () => {
    let failures = 3;
    const { clock, controller, passes } = setup(() => (failures-- > 0 ? Promise.reject(new Error('conflict')) : Promise.resolve({})));
    controller.enqueue('ns/a');
    for (let i = 0; i < 20; i++) {
      await settle();
      clock.advance(50);
    }
    await settle();
    expect(passes.map((p) => p.at)).toEqual([0, 100, 300, 700]);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    clock.advance(10_000);
    await settle();
    expect(passes).toHaveLength(4);
  });

  it('comes back after requeueAfterMs, and a terminal error is counted but not retried', async () => {
    const { clock, controller, passes, outcomes } = setup((key) =>
      key === 'ns/bad' ? Promise.reject(new TerminalError('invalid spec')) : Promise.resolve({ requeueAfterMs: 5000 }),
    );
    controller.enqueue('ns/ok');
    controller.enqueue('ns/bad');
    await settle();
    clock.advance(4999);
    await settle();
    expect(passes.map((p) => p.key)).toEqual(['ns/ok', 'ns/bad']);
    clock.advance(1);
    await settle();
    expect(passes.map((p) => p.key)).toEqual(['ns/ok', 'ns/bad', 'ns/ok']);
    expect(outcomes).toContainEqual({ outcome: 'error', terminal: true });
    expect(outcomes.filter((o) => o.outcome === 'requeue_after')).toHaveLength(2);
  });

  it('never runs one key on two workers; adds during a pass make exactly one more pass', async () => {
    const releases: (() => void)[] = [];
    let running = 0;
    let maxRunning = 0;
    const { controller, passes } = setup(async () => {
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      return {};
    }, 4);
    controller.enqueue('ns/a');
    await settle();
    for (let i = 0; i < 5; i++) controller.enqueue('ns/a');
    await settle();
    expect(passes).toHaveLength(1);
    releases.shift()!();
    await settle();
    expect(passes).toHaveLength(2);
    releases.shift()!();
    await settle();
    expect(passes).toHaveLength(2);
    expect(maxRunning).toBe(1);
  });

  it('stop lets a pass finish within the grace period', async () => {
    let release = () => {};
    const { controller } = setup(() => new Promise((resolve) => (release = () => resolve({}))));
    controller.enqueue('ns/a');
    await settle();
    const stopped = controller.stop(30_000);
    release();
    expect(await stopped).toBe('drained');
  });

  it('stop abandons a pass past the deadline and aborts its signal; halt aborts at once', async () => {
    const signals: AbortSignal[] = [];
    const { clock, controller } = setup((_key, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    });
    controller.enqueue('ns/a');
    await settle();
    const stopped = controller.stop(1000);
    clock.advance(1000);
    expect(await stopped).toBe('abandoned');
    expect(signals[0]?.aborted).toBe(true);

    const other = setup((_key, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    });
    other.controller.enqueue('ns/b');
    await settle();
    other.controller.halt('leadership lost');
    expect(signals[1]?.aborted).toBe(true);
    other.controller.enqueue('ns/c');
    await settle();
    expect(other.passes).toHaveLength(1);
  });

  it('tells how long the oldest running pass has run, for the liveness check', async () => {
    let finish = () => {};
    const { clock, controller } = setup(() => new Promise((resolve) => (finish = () => resolve({}))));
    expect(controller.oldestPassMs()).toBe(0);
    controller.enqueue('ns/a');
    await settle();
    clock.advance(7_000);
    expect(controller.oldestPassMs()).toBe(7_000);
    finish();
    await settle();
    expect(controller.oldestPassMs()).toBe(0);
  });
});
