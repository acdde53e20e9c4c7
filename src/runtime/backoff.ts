/** `base * 2^failures`, never above `cap`. */
export function exponentialDelay(failures: number, baseMs: number, capMs: number): number {
  // 2^failures overflows to Infinity long before it matters; Math.min keeps the cap exact.
  return Math.min(capMs, baseMs * 2 ** Math.max(0, failures));
}

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/**
 * Per-key exponential backoff, as client-go's ItemExponentialFailureRateLimiter: every failure of
 * a key doubles its next delay up to a cap; `forget` after a success starts it over.
 */
export class KeyedBackoff {
  private readonly failures = new Map<string, number>();

  constructor(private readonly options: BackoffOptions = { baseMs: 5, capMs: 1_000_000 }) {}

  /** Records a failure of `key` and returns how long to wait before its next try. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return exponentialDelay(n, this.options.baseMs, this.options.capMs);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/**
 * Backoff for one long-running thing (an informer's list-watch): consecutive failures grow the
 * delay; a run that stayed healthy for `resetAfterMs` starts it over, so a blip after hours of
 * good service does not wait as long as the tenth failure in a row.
 */
export class RestartBackoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions & { resetAfterMs: number },
  ) {}

  /** The delay before restarting a run that began at `startedAt` and failed at `now`. */
  next(startedAt: number, now: number): number {
    if (now - startedAt >= this.options.resetAfterMs) this.failures = 0;
    return exponentialDelay(this.failures++, this.options.baseMs, this.options.capMs);
  }

  reset(): void {
    this.failures = 0;
  }
}
