import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every request made during a pass must respect, found by the request itself rather than
 * threaded through each call: a write that forgets to pass these along is still fenced.
 */
export interface PassScope {
  /** Aborted when the pass must stop: leadership lost or shutdown past its deadline. */
  signal: AbortSignal;
  /** Throws LeadershipLostError unless this process certainly still holds the lease now. */
  fence(): void;
}

/** Thrown before a write that a process which may no longer lead would have sent. */
export class LeadershipLostError extends Error {
  override name = 'LeadershipLostError';
}

const storage = new AsyncLocalStorage<PassScope>();

/** Runs `fn` (a pass) so that every request it makes, however deep, sees `scope`. */
export function runInPass<T>(scope: PassScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** The scope of the pass this code runs in, if any (informers and the elector run outside). */
export function currentPass(): PassScope | undefined {
  return storage.getStore();
}

/** Before a write: refuse it when the pass lost its lease or was aborted. */
export function fenceWrite(): void {
  const scope = storage.getStore();
  if (!scope) return;
  if (scope.signal.aborted) throw new LeadershipLostError(`write refused: the pass was aborted (${String(scope.signal.reason)})`);
  scope.fence();
}
