import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every harness directory lives here, named after the process that owns it. */
export const harnessRoot = join(tmpdir(), 'etcd-operator-harness');

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  readonly running: () => boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
}

const live = new Set<ManagedProcess>();
const liveDirs = new Set<string>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // A test that throws, a worker that exits, or a Ctrl-C must not leave servers running.
  process.on('exit', () => {
    for (const p of live) killQuietly(p.pid, 'SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
  // A Ctrl-C reaches this process more than once: the terminal signals the whole process group,
  // and npm and tsx each pass it on to their child. A signal with no listener left would end the
  // process at once, before the exit hook stops what runs and removes its directory (the demo
  // left its directory behind that way), so every one is heard and the ones after the first wait.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void Promise.allSettled([...live].map((p) => p.stop(2_000))).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Whether a process with this PID exists (EPERM: it exists but is not ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Processes whose command line mentions `dir`: what a harness left running, if anything. */
export function processesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && cmdline(pid).includes(dir));
}

/**
 * Kills what earlier harnesses left behind when their owner died without cleaning up (SIGKILL of
 * a test worker), then removes their directories. Only processes whose command line names the
 * dead owner's directory are killed, so a reused PID is never hit.
 */
export function sweepStaleHarnesses(): void {
  mkdirSync(harnessRoot, { recursive: true });
  for (const entry of readdirSync(harnessRoot)) {
    const owner = Number(entry.split('-')[0]);
    if (!Number.isInteger(owner) || isAlive(owner)) continue;
    const dir = join(harnessRoot, entry);
    for (const pid of processesUsing(dir)) killQuietly(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh directory owned by this process, removed at exit if the harness forgets to. */
export function makeHarnessDir(label: string): string {
  sweepStaleHarnesses();
  const dir = mkdtempSync(join(harnessRoot, `${process.pid}-${label}-`));
  liveDirs.add(dir);
  installHandlers();
  return dir;
}

/** Leaves `dir` in place at exit (for reading its logs); the next harness's sweep removes it. */
export function keepHarnessDir(dir: string): void {
  liveDirs.delete(dir);
}

export function removeHarnessDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { logDir: string; env?: NodeJS.ProcessEnv },
): ManagedProcess {
  installHandlers();
  const logPath = join(options.logDir, `${name}.log`);
  appendFileSync(logPath, `--- ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
  const fd = openSync(logPath, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: options.env ?? process.env });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running = false;
      live.delete(managed);
      resolve(code);
    });
    child.once('error', () => {
      running = false;
      live.delete(managed);
      resolve(null);
    });
  });
  const managed: ManagedProcess = {
    name,
    pid,
    logPath,
    exited,
    running: () => running,
    async stop(graceMs = 5_000) {
      if (!running) return;
      killQuietly(pid, 'SIGTERM');
      const timer = setTimeout(() => killQuietly(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    logTail(lines = 20) {
      try {
        return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
  live.add(managed);
  return managed;
}
