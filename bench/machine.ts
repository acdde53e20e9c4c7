// What the figures ran on: a figure from a shared, loaded machine means little without it.
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { pinnedVersions, repoRoot } from '../test/harness/binaries.js';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  /** 1, 5 and 15 minute load averages, rounded. */
  loadAverage: number[];
  node: string;
  versions: Record<string, string>;
  kernel: string;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function cpuModel(): string {
  // /proc/cpuinfo names the model even where os.cpus() reports a generic one.
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

export function loadAverage(): number[] {
  return loadavg().map((n) => round(n, 2));
}

export function machine(): Machine {
  return {
    nproc: cpus().length,
    cpuModel: cpuModel(),
    memoryGiB: round(totalmem() / 1024 ** 3),
    freeMemoryGiB: round(freemem() / 1024 ** 3),
    loadAverage: loadAverage(),
    node: process.version,
    versions: { kubernetes: pinnedVersions.kubernetes, etcd: pinnedVersions.etcd },
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
}

/** The commit measured, marked dirty when the working tree differs from it. */
export function gitCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  const head = git('rev-parse', '--short=12', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'src').length > 0;
  return dirty ? `${head}+dirty(src)` : head;
}
