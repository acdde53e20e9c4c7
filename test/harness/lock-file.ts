import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAlive } from './process.js';

/**
 * Takes the lock file `path` for this process unless a live process holds it; a dead holder's
 * lock is taken over. Locks are never released while the process lives: they name what it holds.
 */
export function tryLock(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let holder = NaN;
  try {
    holder = Number(readFileSync(path, 'utf8'));
  } catch {
    // Removed meanwhile by another process taking it over: try again.
  }
  if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) return false;
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return tryLock(path);
}
