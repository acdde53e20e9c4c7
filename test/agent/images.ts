import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Repositories whose tags are etcd releases: the project's own image and its old home. */
const etcdRepositories = new Set(['gcr.io/etcd-development/etcd', 'quay.io/coreos/etcd']);

/**
 * The operator's own image: its tags stand for the project's built `dist/` (the stand-in for
 * pulling it). Member pods run it as their start guard; its entrypoint is the operator.
 */
export const operatorRepository = 'ghcr.io/etcd-operator/etcd-operator';

export type ImageResolution =
  | { ok: true; kind: 'etcd'; version: string; dir: string }
  | { ok: true; kind: 'operator'; version: string; appDir: string }
  | { ok: false; reason: 'ErrImagePull' | 'InvalidImageName'; message: string };

/** `registry/repo:tag@digest` split into repository and tag; the digest is ignored here. */
export function parseImage(image: string): { repository: string; tag: string | undefined } | undefined {
  const ref = image.split('@', 1)[0] ?? '';
  if (!ref || /\s/.test(ref)) return undefined;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const repository = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : undefined;
  // Repository names are lowercase in every registry; an empty tag is malformed.
  if (repository !== repository.toLowerCase() || tag === '') return undefined;
  return { repository, tag };
}

/**
 * Maps an image to the directory of a locally built etcd release (`<binRoot>/etcd-vX.Y.Z`),
 * the stand-in for pulling it. Anything else is a pull failure the pod reports, as a kubelet
 * would report an image it cannot fetch.
 */
export function resolveImage(image: string, binRoot: string, exists: (path: string) => boolean = existsSync, appDir?: string): ImageResolution {
  const parsed = parseImage(image);
  if (!parsed) return { ok: false, reason: 'InvalidImageName', message: `invalid image name "${image}"` };
  if (parsed.repository === operatorRepository && appDir !== undefined) {
    if (!exists(join(appDir, 'dist', 'main.js'))) {
      return { ok: false, reason: 'ErrImagePull', message: `image "${image}": the operator is not built (${join(appDir, 'dist')}); run npm run build` };
    }
    return { ok: true, kind: 'operator', version: parsed.tag ?? 'latest', appDir };
  }
  if (!etcdRepositories.has(parsed.repository)) {
    const known = [...etcdRepositories, ...(appDir === undefined ? [] : [operatorRepository])];
    return { ok: false, reason: 'ErrImagePull', message: `image "${image}": the local agent only runs etcd images and the operator's (${known.join(', ')})` };
  }
  const tag = parsed.tag ?? 'latest';
  if (!/^v\d+\.\d+\.\d+$/.test(tag)) {
    return { ok: false, reason: 'ErrImagePull', message: `image "${image}": tag "${tag}" is not an etcd release (vX.Y.Z)` };
  }
  const dir = join(binRoot, `etcd-${tag}`);
  if (!exists(join(dir, 'etcd'))) {
    return { ok: false, reason: 'ErrImagePull', message: `image "${image}": etcd ${tag} is not built locally (${dir}); run hack/build-binaries.sh` };
  }
  return { ok: true, kind: 'etcd', version: tag, dir };
}

/**
 * The agent's local image store: each release's binaries linked into a world-readable directory
 * (the build cache may be private to root, and containers run as 65532). Returns the directory
 * to mount at /usr/local/bin and whether it was already present.
 */
export function pullImage(storeDir: string, resolved: { version: string; dir: string }): { dir: string; present: boolean } {
  const dir = join(storeDir, `etcd-${resolved.version}`);
  if (existsSync(join(dir, 'etcd'))) return { dir, present: true };
  const staging = `${dir}.pulling-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o755 });
  chmodSync(staging, 0o755);
  for (const name of readdirSync(resolved.dir)) {
    try {
      linkSync(join(resolved.dir, name), join(staging, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      copyFileSync(join(resolved.dir, name), join(staging, name));
    }
    chmodSync(join(staging, name), 0o755);
  }
  renameSync(staging, dir);
  return { dir, present: false };
}

/** Where the operator image keeps its files, as the Dockerfile lays them out. */
export const operatorImagePaths = { node: '/nodejs/bin/node', app: '/app' } as const;

/**
 * The operator image's filesystem as binds: the host's Node.js at the distroless path, the
 * project's package.json, dist/ and node_modules at /app, and the shared libraries Node.js links
 * (the host has a merged /usr, so /lib and /lib64 are /usr/lib and /usr/lib64). All read-only.
 */
export function operatorImageBinds(appDir: string, nodeBinary: string): { source: string; target: string; readOnly: true; file?: boolean }[] {
  const app = operatorImagePaths.app;
  return [
    { source: nodeBinary, target: operatorImagePaths.node, readOnly: true, file: true },
    { source: join(appDir, 'package.json'), target: `${app}/package.json`, readOnly: true, file: true },
    { source: join(appDir, 'dist'), target: `${app}/dist`, readOnly: true },
    { source: join(appDir, 'node_modules'), target: `${app}/node_modules`, readOnly: true },
    { source: '/usr/lib', target: '/usr/lib', readOnly: true },
    { source: '/usr/lib', target: '/lib', readOnly: true },
    { source: '/usr/lib64', target: '/lib64', readOnly: true },
  ];
}
