import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeConfig, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';
import { kubeRequest } from '../../src/runtime/kube-http.js';
import type { ObjectSource } from './kube.js';
import { applyFsGroup } from './ownership.js';
import { project, type ProjectedFile, ProjectedSources, VolumeSetupError } from './projected.js';

export { VolumeSetupError };

type Pod = Wire<V1Pod>;
type Volume = Wire<V1Volume>;

/**
 * Writes a Secret or ConfigMap volume the way the kubelet's atomic writer does: files in a fresh
 * `..<stamp>` directory, `..data` swapped to it by rename, and user-visible names as symlinks
 * through `..data`. A reader (etcd reloading its certificates) sees the old set or the new one.
 */
function writeAtomically(dir: string, files: ProjectedFile[], fsGroup: number | undefined): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}_${process.hrtime.bigint()}`;
  for (const f of files) {
    mkdirSync(dirname(join(dir, stamp, f.path)), { recursive: true });
    writeFileSync(join(dir, stamp, f.path), f.data, { mode: f.mode });
  }
  mkdirSync(join(dir, stamp), { recursive: true });
  if (fsGroup !== undefined) applyFsGroup(join(dir, stamp), fsGroup, true);
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  const visible = new Set(files.map((f) => f.path.split('/')[0]!));
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..') ? entry !== '..data' && entry !== stamp : !visible.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
  for (const name of visible) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function digest(files: ProjectedFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) h.update(`${f.path}\0${f.mode}\0`).update(f.data).update('\0');
  return h.digest('hex');
}

export interface VolumeContext {
  kc: KubeConfig;
  pod: Pod;
  /** The pod's own directory under the agent's. */
  podDir: string;
  source: ObjectSource;
  podIP: string;
  hostIP: string;
}

/** A pod's volumes on disk: volume name -> host directory that is bind-mounted into containers. */
export class PodVolumes {
  readonly paths = new Map<string, string>();
  private readonly digests = new Map<string, string>();
  private readonly projected: ProjectedSources;

  constructor(private readonly ctx: VolumeContext) {
    this.projected = new ProjectedSources(ctx.kc, ctx.source, () => ctx.podIP, ctx.hostIP);
  }

  private get fsGroup(): number | undefined {
    return this.ctx.pod.spec?.securityContext?.fsGroup;
  }

  private get namespace(): string {
    return this.ctx.pod.metadata?.namespace ?? 'default';
  }

  /** Sets up every volume; throws VolumeSetupError naming the first that cannot be. */
  async setUp(): Promise<void> {
    for (const v of this.ctx.pod.spec?.volumes ?? []) this.paths.set(v.name, await this.setUpOne(v));
  }

  /** Rewrites Secret and ConfigMap volumes whose content changed (certificate rotation). */
  async refresh(): Promise<void> {
    for (const v of this.ctx.pod.spec?.volumes ?? []) if (v.secret || v.configMap || v.projected) await this.setUpOne(v);
  }

  private async setUpOne(v: Volume): Promise<string> {
    if (v.secret || v.configMap || v.projected) return this.setUpProjected(v);
    if (v.emptyDir) {
      const dir = join(this.ctx.podDir, 'volumes', 'empty-dir', v.name);
      mkdirSync(dir, { recursive: true, mode: 0o777 });
      if (this.fsGroup !== undefined) applyFsGroup(dir, this.fsGroup, false);
      return dir;
    }
    if (v.persistentVolumeClaim) {
      const dir = await this.claimPath(v.persistentVolumeClaim.claimName);
      if (this.fsGroup !== undefined) applyFsGroup(dir, this.fsGroup, false);
      return dir;
    }
    throw new VolumeSetupError(`volume "${v.name}": only secret, configMap, projected, emptyDir and persistentVolumeClaim volumes are supported by the local agent`);
  }

  private async setUpProjected(v: Volume): Promise<string> {
    const dir = join(this.ctx.podDir, 'volumes', v.secret ? 'secret' : v.configMap ? 'configmap' : 'projected', v.name);
    const files = await this.projectedFiles(v);
    const sum = digest(files);
    if (this.digests.get(v.name) !== sum) {
      writeAtomically(dir, files, this.fsGroup);
      this.digests.set(v.name, sum);
    }
    return dir;
  }

  private async projectedFiles(v: Volume): Promise<ProjectedFile[]> {
    if (v.projected) return this.projected.files(this.ctx.pod, v.projected);
    if (v.secret) {
      const name = v.secret.secretName ?? '';
      const data = await this.ctx.source.secret(this.namespace, name);
      if (!data && !v.secret.optional) throw new VolumeSetupError(`MountVolume.SetUp failed for volume "${v.name}" : secret "${name}" not found`);
      return project(data ?? {}, v.secret.items, v.secret.defaultMode ?? 0o644, `secret ${name}`);
    }
    const name = v.configMap!.name ?? '';
    const raw = await this.ctx.source.configMap(this.namespace, name);
    if (!raw && !v.configMap!.optional) throw new VolumeSetupError(`MountVolume.SetUp failed for volume "${v.name}" : configmap "${name}" not found`);
    const data = Object.fromEntries(Object.entries(raw ?? {}).map(([k, s]) => [k, Buffer.from(s)]));
    return project(data, v.configMap!.items, v.configMap!.defaultMode ?? 0o644, `configmap ${name}`);
  }

  /** The directory of the PersistentVolume a claim is bound to. */
  private async claimPath(claim: string): Promise<string> {
    const pvc = await kubeRequest<Wire<V1PersistentVolumeClaim>>(
      this.ctx.kc,
      `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/persistentvolumeclaims/${encodeURIComponent(claim)}`,
    );
    const volumeName = pvc.spec?.volumeName;
    if (pvc.status?.phase !== 'Bound' || !volumeName) throw new VolumeSetupError(`persistentvolumeclaim "${claim}" is not bound`);
    const pv = await kubeRequest<Wire<V1PersistentVolume>>(this.ctx.kc, `/api/v1/persistentvolumes/${encodeURIComponent(volumeName)}`);
    const path = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
    if (!path) throw new VolumeSetupError(`persistentvolume "${volumeName}" is neither local nor hostPath`);
    return path;
  }
}
