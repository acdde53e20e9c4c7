import type { Logger } from 'winston';

/** What a pass is given besides its key. */
export interface PassContext {
  /** A child logger carrying `controller`, `key` and `passId`. */
  log: Logger;
  /** Short random ID that ties together the log lines of one pass. */
  passId: string;
  /** Aborted when the pass must stop at once: leadership lost, or shutdown past its deadline. */
  signal: AbortSignal;
}

export interface Result {
  /** Look at this key again after this many milliseconds (drift that has no event, a wait). */
  requeueAfterMs?: number;
}

/**
 * The one thing a controller implements. `key` is `namespace/name` of the root object; the pass
 * re-reads the world from the cache and acts. Resolving means success (or `requeueAfterMs`);
 * throwing means retry with per-key exponential backoff; throwing TerminalError means the input
 * cannot succeed as it is: logged and counted, not retried until the next event.
 */
export interface Reconciler {
  reconcile(key: string, ctx: PassContext): Promise<Result>;
}

/** An error that retrying cannot fix (an invalid spec, say); wraps the cause. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}
