import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's location. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function readVersions(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'hack', 'versions.env'), 'utf8');
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split('=', 2) as [string, string]);
  return Object.fromEntries(entries);
}

const versions = readVersions();

function pinned(key: string): string {
  const value = versions[key];
  if (!value) throw new Error(`hack/versions.env has no ${key}`);
  return value;
}

/** Versions pinned in hack/versions.env, the single place they are set. */
export const pinnedVersions = {
  kubernetes: pinned('KUBERNETES_VERSION'),
  etcd: pinned('ETCD_VERSION'),
  etcdPrevious: pinned('ETCD_PREVIOUS_VERSION'),
  minio: pinned('MINIO_VERSION'),
  node: pinned('NODE_VERSION'),
};

/** Where hack/build-binaries.sh caches its builds. */
export const cacheDir = process.env.ETCD_OPERATOR_CACHE ?? join(homedir(), '.cache', 'etcd-operator');

function binary(dir: string, name: string): string {
  const path = join(cacheDir, 'bin', dir, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run hack/setup.sh (or npm test) to build it`);
  return path;
}

export type KubeBinary = 'kube-apiserver' | 'kube-controller-manager' | 'kubectl';
export type EtcdBinary = 'etcd' | 'etcdctl' | 'etcdutl';

export function kubeBinary(name: KubeBinary): string {
  return binary(`kubernetes-${pinnedVersions.kubernetes}`, name);
}

/** An etcd binary of a version built by hack/ (default: the current pinned 3.6.x). */
export function etcdBinary(name: EtcdBinary, version = pinnedVersions.etcd): string {
  return binary(`etcd-${version.startsWith('v') ? version : `v${version}`}`, name);
}

/** The MinIO server hack/ builds: the real S3-compatible store of the backup tests. */
export function minioBinary(): string {
  return binary(`minio-${pinnedVersions.minio}`, 'minio');
}
