/**
 * Keys generated ahead, so that issuing a new cluster's certificates (a CA and four leaves) does
 * not wait for key generation. With RSA-2048 this was most of the cost (five keys took about 0.7 s
 * of CPU, several seconds under load); with ECDSA P-256 (see x509.ts) a key costs well under a
 * millisecond, so the pool now only keeps that little off the path to the first Secret, and an
 * empty pool (many clusters applied at once) costs little.
 *
 * Nothing is weakened: the keys are the same keys from OpenSSL (Node's thread pool, off the event
 * loop), held only in this process's memory, and each is handed out once and never returned, so
 * no two certificates share a key. When the pool is empty, `take` generates one on demand. Refills
 * run one key at a time, starting a moment after the last take, so they do not compete with the
 * pods of the cluster that just took the keys.
 */
import type { KeyPair } from './x509.js';

export interface KeyPoolOptions {
  /** Keys kept ready; 0 disables the pool (every take generates). */
  size: number;
  /** How long after a take the refill starts. */
  refillDelayMs: number;
}

export class KeyPool {
  private readonly ready: KeyPair[] = [];
  private options: KeyPoolOptions = { size: 0, refillDelayMs: 0 };
  private refilling = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly generate: () => Promise<KeyPair>) {}

  /** Sets the size and starts filling in the background. */
  start(options: KeyPoolOptions): void {
    this.options = options;
    this.scheduleRefill(0);
  }

  /** Stops refilling and drops the keys held. */
  stop(): void {
    this.options = { ...this.options, size: 0 };
    clearTimeout(this.timer);
    this.ready.length = 0;
  }

  get available(): number {
    return this.ready.length;
  }

  /** A key no one else has been given: a ready one, or a new one when none is ready. */
  take(): Promise<KeyPair> {
    const key = this.ready.shift();
    this.scheduleRefill(this.options.refillDelayMs);
    return key ? Promise.resolve(key) : this.generate();
  }

  private scheduleRefill(delayMs: number): void {
    if (this.options.size === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refill(), delayMs);
    // A pending refill must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  /** One key at a time: at most one thread (one core) of background work. */
  private async refill(): Promise<void> {
    if (this.refilling) return;
    this.refilling = true;
    try {
      while (this.ready.length < this.options.size) {
        const key = await this.generate();
        if (this.ready.length < this.options.size) this.ready.push(key);
      }
    } catch {
      // Generation failing here fails again in `take`, where the caller sees the error.
    } finally {
      this.refilling = false;
    }
  }
}
