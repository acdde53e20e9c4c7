import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, appendFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ContainerRoot, containerFstab, mountScript } from './rootfs.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ContainerProcess {
  readonly pid: number;
  readonly exited: Promise<Exit>;
  running(): boolean;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs: number): Promise<Exit>;
}

/** Every container this process started, killed outright if the agent's process exits first. */
const live = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) signal(pid, 'SIGKILL');
  });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    // ESRCH: it exited between our check and the signal, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Starts a container: `unshare` gives it private mount and UTS namespaces, the mount script
 * assembles its root from the fstab written beside its log, and the command runs chrooted as the
 * container's user. One process from unshare to etcd (each step execs the next), so its PID is
 * the container's.
 */
export function launch(root: ContainerRoot, argv: string[], env: ReadonlyMap<string, string>, logPath: string): ContainerProcess {
  installExitHook();
  mkdirSync(dirname(logPath), { recursive: true });
  appendFileSync(logPath, `--- ${new Date().toISOString()} ${argv.join(' ')}\n`);
  const fstab = logPath.replace(/(\.log)?$/, '.fstab');
  writeFileSync(fstab, containerFstab(root));
  const fd = openSync(logPath, 'a');
  const args = ['--mount', '--uts', '--propagation', 'private', '--', '/bin/sh', '-c', mountScript(root, fstab), 'container', ...argv];
  const child = spawn('/usr/bin/unshare', args, { stdio: ['ignore', fd, fd], env: Object.fromEntries(env) });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start unshare for ${argv[0]}`);
  const pid = child.pid;
  live.add(pid);
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, sig) => {
      running = false;
      live.delete(pid);
      resolve({ code, signal: sig });
    });
  });
  return {
    pid,
    exited,
    running: () => running,
    async stop(graceMs) {
      if (running) signal(pid, 'SIGTERM');
      const timer = setTimeout(() => running && signal(pid, 'SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };

/** Exit code and reason as container runtimes report them: 128+N for a signal. */
export function describeExit(exit: Exit): { exitCode: number; signal?: number; reason: string } {
  if (exit.signal) {
    const n = signalNumbers[exit.signal] ?? 0;
    return { exitCode: 128 + n, signal: n, reason: 'Error' };
  }
  const code = exit.code ?? 0;
  return { exitCode: code, reason: code === 0 ? 'Completed' : 'Error' };
}
