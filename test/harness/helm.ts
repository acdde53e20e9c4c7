import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, repoRoot } from './binaries.js';

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The helm version pinned in hack/versions.env (HELM_VERSION). */
export function pinnedHelmVersion(): string {
  const line = readFileSync(join(repoRoot, 'hack', 'versions.env'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('HELM_VERSION='));
  if (!line) throw new Error('hack/versions.env has no HELM_VERSION');
  return line.slice('HELM_VERSION='.length).trim();
}

/** The helm binary hack/build-binaries.sh built. */
export function helmBinary(): string {
  const path = join(cacheDir, 'bin', `helm-${pinnedHelmVersion()}`, 'helm');
  if (!existsSync(path)) throw new Error(`${path} is missing: run hack/setup.sh (or hack/build-binaries.sh) to build it`);
  return path;
}

/**
 * Runs helm with its state (config, cache, plugins) inside `homeDir`, so tests never read or
 * write the user's ~/.config/helm. Never throws on a non-zero exit.
 */
export function runHelm(args: string[], homeDir: string, kubeconfig?: string): Promise<HelmResult> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: homeDir,
    HELM_CONFIG_HOME: join(homeDir, 'config'),
    HELM_CACHE_HOME: join(homeDir, 'cache'),
    HELM_DATA_HOME: join(homeDir, 'data'),
    ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}),
  };
  return new Promise((resolve) => {
    execFile(helmBinary(), args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
