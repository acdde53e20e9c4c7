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
 * Why a key is queued. `event`: something changed (a watch event). `background`: a look again
 * that nothing asked for now: a requeueAfter coming due, a retry after a failure, the periodic
 * resync. Events are handed out first: a change to one cluster must not wait behind the 30 s
 * health refresh of every other (their requeues fall due together when the clusters were
 * created together). A background key passed over for `backgroundMaxWaitMs` no longer waits
 * behind events, but takes turns with them: one overdue background key, then one event. Letting
 * every overdue background key go first instead made the queue first-in first-out whenever the
 * background lane stayed overdue (more passes due than the workers get through: 220 clusters
 * settling at load 40), and a change then waited behind the whole lane: 11 to 14 s in the
 * many-clusters bench of 2026-12-03, where a pass took about 0.4 s.
 */
export type Priority = 'event' | 'background';

/** How long a background key may be passed over by events before it goes first. */
export const backgroundMaxWaitMs = 10_000;

/**
 * A queue of keys with client-go's guarantees: a key queued many times is handed out once; a key
 * is never held by two workers at once; a key added while held is handed out again after `done`;
 * delayed adds keep the earliest due time; failures back off per key. Two lanes (see Priority):
 * each first-in first-out; a key queued in both counts as an event.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly backoff: KeyedBackoff;
  private readonly observer: QueueObserver;
  private readonly lanes: Record<Priority, string[]> = { event: [], background: [] };
  /** Keys that need a pass (queued, or added again while being processed), with their lane. */
  private readonly dirty = new Map<string, Priority>();
  /** Keys held by a worker, with when they were handed out. */
  private readonly processing = new Map<string, number>();
  private readonly queuedAt = new Map<string, number>();
  /** How long each key held now waited for its worker, for the pass's own log line. */
  private readonly waits = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  /** The last key handed out by `next` was an overdue background key: an event goes next. */
  private overdueTurn = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.backoff = options.backoff ?? new KeyedBackoff();
    this.observer = options.observer ?? {};
  }

  add(key: string, priority: Priority = 'event'): void {
    if (this.shuttingDown) return;
    const queued = this.dirty.get(key);
    if (queued !== undefined) {
      // An event for a key waiting in the background lane moves it up, keeping its queued time.
      if (queued === 'background' && priority === 'event') this.promote(key);
      return;
    }
    this.observer.added?.();
    this.dirty.set(key, priority);
    this.queuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` once `ms` have passed; of several pending delays for a key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key, 'background');
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.clock.schedule(ms, () => {
      this.delayed.delete(key);
      this.add(key, 'background');
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
    const key = this.next();
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
    this.lanes.event.length = 0;
    this.lanes.background.length = 0;
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
    this.observer.depth?.(0);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys waiting for a worker (not counting delayed adds). */
  len(): number {
    return this.lanes.event.length + this.lanes.background.length;
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
    this.lanes[this.dirty.get(key) ?? 'event'].push(key);
    this.observer.depth?.(this.len());
  }

  private promote(key: string): void {
    this.dirty.set(key, 'event');
    const i = this.lanes.background.indexOf(key);
    // Not in the lane: held by a worker, and queued again (as an event now) at `done`.
    if (i < 0) return;
    this.lanes.background.splice(i, 1);
    this.lanes.event.push(key);
  }

  /** Events first; an overdue background key and an event take turns (see Priority). */
  private next(): string | undefined {
    const waiting = this.lanes.background[0];
    const overdue = waiting !== undefined && this.clock.now() - (this.queuedAt.get(waiting) ?? 0) >= backgroundMaxWaitMs;
    if (overdue && !(this.overdueTurn && this.lanes.event.length > 0)) {
      this.overdueTurn = true;
      return this.lanes.background.shift();
    }
    this.overdueTurn = false;
    return this.lanes.event.shift() ?? this.lanes.background.shift();
  }

  private handOut(key: string): string {
    const now = this.clock.now();
    this.processing.set(key, now);
    this.dirty.delete(key);
    this.observer.depth?.(this.len());
    this.waits.set(key, now - (this.queuedAt.get(key) ?? now));
    this.observer.waited?.((now - (this.queuedAt.get(key) ?? now)) / 1000);
    this.queuedAt.delete(key);
    return key;
  }
}
