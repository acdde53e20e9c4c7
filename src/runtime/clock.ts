/**
 * Time as the runtime sees it. Injected so that queue and backoff tests advance time by hand
 * instead of sleeping.
 */
export interface Clock {
  /** Milliseconds, monotonic enough for durations. */
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  schedule(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  schedule(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    // A pending retry or requeue must not keep a stopping process alive.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when told to; timers fire in due order during `advance`. */
export class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private pending: Pending[] = [];

  now(): number {
    return this.time;
  }

  schedule(ms: number, fn: () => void): () => void {
    const entry = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(entry);
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = target;
  }

  pendingTimers(): number {
    return this.pending.length;
  }
}

/** Waits `ms` on `clock`, or less if `signal` aborts; never rejects. */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve();
    };
    const cancel = clock.schedule(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves when `signal` aborts. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
