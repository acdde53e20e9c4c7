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

export async function startOperator(name: string, dir: string, kubeconfig: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, launch: OperatorLaunch = {}): Promise<OperatorProcess> {
  // `node --import tsx` rather than the tsx CLI: the CLI runs the program in a child process, and
  // a SIGKILL to the CLI would leave the real operator running.
  const program = launch.entry === 'dist' ? [...shippedNodeArgs(), join(repoRoot, 'dist', 'main.js')] : ['--import', 'tsx', join(repoRoot, 'src', 'main.ts')];
  const args = [...(launch.nodeArgs ?? []), ...program, `--kubeconfig=${kubeconfig}`, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', ...extraArgs];
  const process = startProcess(name, globalThis.process.execPath, args, { logDir: dir, env: { ...globalThis.process.env, ...env } });
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
