import { randomBytes } from 'node:crypto';
import type { Logger } from 'winston';
import { type Clock, realClock } from './clock.js';
import type { PassContext, Reconciler, Result } from './reconciler.js';
import { TerminalError } from './reconciler.js';
import { type Priority, type QueueObserver, WorkQueue } from './workqueue.js';
import { KeyedBackoff } from './backoff.js';
import { runInPass } from './pass-scope.js';

/** controller-runtime's `result` label values. */
export type PassOutcome = 'success' | 'requeue_after' | 'error';

export interface ControllerObserver {
  workers?(max: number): void;
  active?(delta: 1 | -1): void;
  passed?(outcome: PassOutcome, seconds: number, terminal: boolean): void;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  workers: number;
  log: Logger;
  clock?: Clock;
  backoff?: KeyedBackoff;
  queueObserver?: QueueObserver;
  observer?: ControllerObserver;
  /**
   * Throws unless this process certainly still leads; checked before every write a pass sends
   * (see pass-scope.ts). Absent without leader election.
   */
  fence?: () => void;
}

/**
 * Workers that take keys from a queue and run the reconciler on them; the result alone decides
 * whether and when the key comes back.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  /** Start times of the passes running now, for the liveness check. */
  private readonly running = new Set<{ startedAt: number }>();

  constructor(private readonly options: ControllerOptions) {
    this.name = options.name;
    this.clock = options.clock ?? realClock;
    this.queue = new WorkQueue({ clock: this.clock, backoff: options.backoff, observer: options.queueObserver });
  }

  /** `background`: a look nothing asked for now (the periodic resync); events go first. */
  enqueue(key: string, priority: Priority = 'event'): void {
    this.queue.add(key, priority);
  }

  /** How long the oldest pass still running has run (0 when none runs): a hung worker shows here. */
  oldestPassMs(): number {
    const now = this.clock.now();
    let oldest = 0;
    for (const p of this.running) oldest = Math.max(oldest, now - p.startedAt);
    return oldest;
  }

  start(): void {
    if (this.workers.length > 0) return;
    this.options.observer?.workers?.(this.options.workers);
    this.workers = Array.from({ length: this.options.workers }, () => this.work());
  }

  /**
   * Takes no new keys, lets passes in flight finish for up to `graceMs`, then aborts them and
   * returns without waiting further: an abandoned pass must not hold the process.
   */
  async stop(graceMs: number): Promise<'drained' | 'abandoned'> {
    this.queue.shutDown();
    let cancel = () => {};
    const timedOut = new Promise<'abandoned'>((resolve) => (cancel = this.clock.schedule(graceMs, () => resolve('abandoned'))));
    const outcome = await Promise.race([Promise.all(this.workers).then(() => 'drained' as const), timedOut]);
    cancel();
    if (outcome === 'abandoned') this.abort.abort(new Error('shutdown deadline passed'));
    return outcome;
  }

  /** Stops at once: leadership is gone, so no pass may go on acting. */
  halt(reason: string): void {
    this.queue.shutDown();
    this.abort.abort(new Error(reason));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.options.observer?.active?.(1);
      try {
        await this.pass(key);
      } finally {
        this.options.observer?.active?.(-1);
        this.queue.done(key);
      }
    }
  }

  private async pass(key: string): Promise<void> {
    const passId = randomBytes(4).toString('hex');
    const ctx: PassContext = { log: this.options.log.child({ controller: this.name, key, passId }), passId, signal: this.abort.signal };
    const started = this.clock.now();
    const entry = { startedAt: started };
    this.running.add(entry);
    let result: Result | undefined;
    let error: unknown;
    try {
      const fence = this.options.fence ?? (() => undefined);
      result = await runInPass({ signal: ctx.signal, fence }, () => this.options.reconciler.reconcile(key, ctx));
    } catch (err) {
      error = err;
    } finally {
      this.running.delete(entry);
    }
    const seconds = (this.clock.now() - started) / 1000;
    // Where the time from an event to a write goes: waiting for a worker, or in the pass.
    ctx.log.debug('pass finished', { waitedMs: this.queue.waitedMs(key), passMs: Math.round(seconds * 1000), failed: error !== undefined });
    if (this.abort.signal.aborted) {
      ctx.log.warn('pass abandoned', { reason: String(this.abort.signal.reason), error: error === undefined ? undefined : describe(error) });
      return;
    }
    if (error !== undefined) this.failed(key, error, ctx, seconds);
    else this.succeeded(key, result ?? {}, seconds);
  }

  private succeeded(key: string, result: Result, seconds: number): void {
    this.queue.forget(key);
    const after = result.requeueAfterMs ?? 0;
    if (after > 0) this.queue.addAfter(key, after);
    this.options.observer?.passed?.(after > 0 ? 'requeue_after' : 'success', seconds, false);
  }

  private failed(key: string, error: unknown, ctx: PassContext, seconds: number): void {
    const terminal = error instanceof TerminalError;
    if (terminal) {
      this.queue.forget(key);
      ctx.log.error('pass failed terminally; not retrying until the next event', { error: describe(error) });
    } else {
      this.queue.addRateLimited(key);
      ctx.log.error('pass failed; retrying with backoff', { error: describe(error), retries: this.queue.numRequeues(key) });
    }
    this.options.observer?.passed?.('error', seconds, terminal);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
