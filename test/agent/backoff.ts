/**
 * The kubelet's crash-loop backoff: the first restart is immediate, then 10s doubling up to a cap,
 * forgotten once the container has gone 2 caps without a restart. The kubelet caps at 5 minutes;
 * this agent caps at 1 minute so that tests that crash members on purpose stay short.
 */
export const restartBackoffSettings = { initialMs: 10_000, capMs: 60_000 };

export class CrashBackoff {
  private currentMs = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly settings = restartBackoffSettings) {}

  /** The delay before restarting a container that stopped at `now`; records the restart. */
  next(now: number): number {
    if (now - this.lastAt > 2 * this.settings.capMs) this.currentMs = 0;
    const delay = this.currentMs;
    this.currentMs = this.currentMs === 0 ? this.settings.initialMs : Math.min(this.settings.capMs, this.currentMs * 2);
    this.lastAt = now;
    return delay;
  }
}
