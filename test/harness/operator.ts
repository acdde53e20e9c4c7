import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { repoRoot } from './binaries.js';
import { type ManagedProcess, startProcess } from './process.js';
import { waitFor } from './wait.js';

/** The operator as a real process (`node --import tsx src/main.ts`), with its listeners on free loopback ports. */
export interface OperatorProcess {
  process: ManagedProcess;
  metricsUrl: string;
  healthUrl: string;
  /** Sum of a metric's samples whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/**
 * How to run it: `entry` `source` runs src/main.ts through tsx; `dist` the compiled build (npm run
 * build), as shipped. `nodeArgs` go to node itself (such as --cpu-prof, not allowed in NODE_OPTIONS).
 */
export interface OperatorLaunch {
  entry?: 'source' | 'dist';
  nodeArgs?: string[];
  /**
   * Environment over the image's (dist only), e.g. to measure a glibc setting; an empty value
   * removes the variable, so the process runs with the library's default.
   */
  env?: Record<string, string>;
}

/**
 * The flags the image gives node before dist/main.js (the Dockerfile's ENTRYPOINT), so the
 * compiled operator runs here as it runs in a pod: its memory depends on them.
 */
export function shippedNodeArgs(): string[] {
  const line = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  const entrypoint = JSON.parse(line!.slice('ENTRYPOINT '.length)) as string[];
  return entrypoint.slice(1, entrypoint.indexOf('dist/main.js'));
}

/**
 * The environment the image sets (the Dockerfile's `ENV KEY=VALUE` lines after its last FROM), so
 * the compiled operator runs here with it too (a setting such as glibc's MALLOC_ARENA_MAX would
 * change its memory).
 */
export function shippedEnv(): Record<string, string> {
  const lines = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').split('\n');
  const env: Record<string, string> = {};
  for (const line of lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')))) {
    if (!line.startsWith('ENV ')) continue;
    for (const pair of line.slice('ENV '.length).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`Dockerfile: write ENV as KEY=VALUE pairs without quotes, not ${JSON.stringify(line)}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

export async function startOperator(name: string, dir: string, kubeconfig: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, launch: OperatorLaunch = {}): Promise<OperatorProcess> {
  // `node --import tsx` rather than the tsx CLI: the CLI runs the program in a child process, and
  // a SIGKILL to the CLI would leave the real operator running.
  const program = launch.entry === 'dist' ? [...shippedNodeArgs(), join(repoRoot, 'dist', 'main.js')] : ['--import', 'tsx', join(repoRoot, 'src', 'main.ts')];
  const args = [...(launch.nodeArgs ?? []), ...program, `--kubeconfig=${kubeconfig}`, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', ...extraArgs];
  const merged: NodeJS.ProcessEnv = { ...globalThis.process.env, ...(launch.entry === 'dist' ? { ...shippedEnv(), ...launch.env } : {}), ...env };
  for (const [key, value] of Object.entries(merged)) if (value === '') delete merged[key];
  const process = startProcess(name, globalThis.process.execPath, args, { logDir: dir, env: merged });
  const bound = (server: string) =>
    waitFor(`${name} ${server} address`, () => {
      for (const line of readFileSync(process.logPath, 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { message?: string; server?: string; address?: string };
        if (entry.message === 'serving' && entry.server === server) return entry.address;
      }
      return undefined;
    }, { process, timeoutMs: 60_000 });
  const metricsUrl = `http://${await bound('metrics')}/metrics`;
  const healthUrl = `http://${await bound('health')}`;
  return {
    process,
    metricsUrl,
    healthUrl,
    async metric(metric, labels = {}) {
      const text = await (await fetch(metricsUrl)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== metric) continue;
        const have = match[2] ?? '';
        if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(match[3]);
      }
      return sum;
    },
  };
}
