// Resident memory and CPU time of a process from /proc, as `ps` and `top` read them.
import { readFileSync } from 'node:fs';

/** Resident set size in MiB. */
export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** User plus system CPU time of a process (not its children), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Average CPU use of a process over a window, as a percentage of one core. */
export async function cpuPercent(pid: number, windowMs: number): Promise<number> {
  const before = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const used = cpuSeconds(pid) - before;
  return Math.round((used / ((performance.now() - t0) / 1000)) * 1000) / 10;
}
