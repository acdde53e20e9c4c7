import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Repositories whose tags are etcd releases: the project's own image and its old home. */
const etcdRepositories = new Set(['gcr.io/etcd-development/etcd', 'quay.io/coreos/etcd']);

export type ImageResolution =
  | { ok: true; version: string; dir: string }
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
export function resolveImage(image: string, binRoot: string, exists: (path: string) => boolean = existsSync): ImageResolution {
  const parsed = parseImage(image);
  if (!parsed) return { ok: false, reason: 'InvalidImageName', message: `invalid image name "${image}"` };
  if (!etcdRepositories.has(parsed.repository)) {
    return { ok: false, reason: 'ErrImagePull', message: `image "${image}": the local agent only runs etcd images (${[...etcdRepositories].join(', ')})` };
  }
  const tag = parsed.tag ?? 'latest';
  if (!/^v\d+\.\d+\.\d+$/.test(tag)) {
    return { ok: false, reason: 'ErrImagePull', message: `image "${image}": tag "${tag}" is not an etcd release (vX.Y.Z)` };
  }
  const dir = join(binRoot, `etcd-${tag}`);
  if (!exists(join(dir, 'etcd'))) {
    return { ok: false, reason: 'ErrImagePull', message: `image "${image}": etcd ${tag} is not built locally (${dir}); run hack/build-binaries.sh` };
  }
  return { ok: true, version: tag, dir };
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
