import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedProcess } from './process.js';

/**
 * Polls `check` until it returns a value other than undefined/false. Test tooling only: the
 * operator itself never waits in a loop. Fails early, with its log, if `process` exits.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; process?: ManagedProcess } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    if (options.process && !options.process.running()) {
      throw new Error(`${options.process.name} exited while waiting for ${what}:\n${options.process.logTail()}`);
    }
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      const log = options.process ? `\n${options.process.logTail()}` : '';
      throw new Error(`timed out waiting for ${what}${detail}${log}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}
