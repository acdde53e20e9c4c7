import { performance } from 'node:perf_hooks';

/** V8's `gc` (node --expose-gc): a full collection, here asked for off the current task. */
export type FullGc = (options: { type: 'major'; execution: 'async' }) => unknown;

/** Closed etcd clients between two full collections, and the least time between them. */
export const collectEveryCloses = 100;
export const collectMinIntervalMs = 10_000;

/** Whether to ask for a full collection after the `closes`-th close since the last one, `sinceLastMs` after it. */
export function collectDue(closes: number, sinceLastMs: number): boolean {
  return closes >= collectEveryCloses && sinceLastMs >= collectMinIntervalMs;
}

/**
 * Every etcd client dialled and closed leaves native memory behind (OpenSSL's context of its
 * credentials, nghttp2's session, grpc-js's buffers) that is freed only when V8 collects the
 * JavaScript objects holding it. V8 does not count that memory, and a closed client's objects
 * have lived through a TLS handshake and a call, long enough to reach the old generation, which
 * V8 collects when its own heap has grown: a fresh operator taking over 200 clusters (220 dials
 * in seconds, then 200 a minute) left tens of MiB of dead clients resident until then, a
 * different amount every run (bench/RESULTS.md, many clusters, round five). So after every
 * `collectEveryCloses` closes, and no more often than every `collectMinIntervalMs`, this asks V8
 * for a full collection: about two a minute at 200 clusters, none on an operator whose clusters
 * act (their clients stay open) or that has few clusters. Without --expose-gc (the image's
 * ENTRYPOINT passes it; tests and tsx do not) it does nothing.
 */
export class NativeGarbage {
  private closes = 0;
  private last = -Infinity;

  constructor(
    private readonly gc: FullGc | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Counts one closed client; may start a full collection, which runs in a later task. */
  closed(): void {
    if (!this.gc) return;
    this.closes++;
    const now = this.now();
    if (!collectDue(this.closes, now - this.last)) return;
    this.closes = 0;
    this.last = now;
    void Promise.resolve(this.gc({ type: 'major', execution: 'async' })).catch(() => undefined);
  }
}

/** The process's one collector: V8's heap is the process's. */
export const nativeGarbage = new NativeGarbage((globalThis as { gc?: FullGc }).gc);
