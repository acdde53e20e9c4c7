import { KeyedBackoff } from './backoff.js';
import { type Clock, realClock } from './clock.js';

/** What the queue reports; the Prometheus side lives in telemetry/, tests pass nothing. */
export interface QueueObserver {
  added?(): void;
  depth?(n: number): void;
  /** Seconds a key waited between being queued and handed to a worker. */
  waited?(seconds: number): void;
  /** Seconds a worker held a key. */
  worked?(seconds: number): void;
  retried?(): void;
}

export interface WorkQueueOptions {
  clock?: Clock;
  backoff?: KeyedBackoff;
  observer?: QueueObserver;
}

/**
 * A queue of keys with client-go's guarantees: a key queued many times is handed out once; a key
 * is never held by two workers at once; a key added while held is handed out again after `done`;
 * delayed adds keep the earliest due time; failures back off per key.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly backoff: KeyedBackoff;
  private readonly observer: QueueObserver;
  private readonly order: string[] = [];
  /** Keys that need a pass: queued, or added again while being processed. */
  private readonly dirty = new Set<string>();
  /** Keys held by a worker, with when they were handed out. */
  private readonly processing = new Map<string, number>();
  private readonly queuedAt = new Map<string, number>();
  /** How long each key held now waited for its worker, for the pass's own log line. */
  private readonly waits = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.backoff = options.backoff ?? new KeyedBackoff();
    this.observer = options.observer ?? {};
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.observer.added?.();
    this.dirty.add(key);
    this.queuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` once `ms` have passed; of several pending delays for a key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.clock.schedule(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, cancel });
  }

  /** Adds `key` after its next backoff delay: the reaction to a failed pass. */
  addRateLimited(key: string): void {
    this.observer.retried?.();
    this.addAfter(key, this.backoff.when(key));
  }

  /** Clears the failure history of `key` after a pass that succeeded (or must not be retried). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  numRequeues(key: string): number {
    return this.backoff.retries(key);
  }

  /** The next key to process, waiting for one; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.order.shift();
    if (key !== undefined) return Promise.resolve(this.handOut(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the pass on `key` finished; a key added meanwhile is queued again. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.waits.delete(key);
    this.observer.worked?.((this.clock.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  /** Stops handing out work: waiting `get` calls resolve to undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { cancel } of this.delayed.values()) cancel();
    this.delayed.clear();
    this.order.length = 0;
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
    this.observer.depth?.(0);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys waiting for a worker (not counting delayed adds). */
  len(): number {
    return this.order.length;
  }

  /** Milliseconds the key, now held by a worker, waited in the queue before it was handed out. */
  waitedMs(key: string): number | undefined {
    return this.waits.get(key);
  }

  /** Start times of the passes in progress, for the unfinished-work gauges. */
  inFlightSince(): number[] {
    return [...this.processing.values()];
  }

  private enqueue(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(this.handOut(key));
      return;
    }
    this.order.push(key);
    this.observer.depth?.(this.order.length);
  }

  private handOut(key: string): string {
    const now = this.clock.now();
    this.processing.set(key, now);
    this.dirty.delete(key);
    this.observer.depth?.(this.order.length);
    this.waits.set(key, now - (this.queuedAt.get(key) ?? now));
    this.observer.waited?.((now - (this.queuedAt.get(key) ?? now)) / 1000);
    this.queuedAt.delete(key);
    return key;
  }
}
