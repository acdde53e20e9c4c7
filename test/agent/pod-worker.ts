import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Wire } from '../../src/runtime/kinds.js';
import { statusCodeOf } from '../../src/runtime/kube-http.js';
import type { AddressPool } from './addresses.js';
import type { EventRecorder } from './events.js';
import { deletePodNow, mergePatch, type ObjectSource, podPath, tolerating } from './kube.js';
import { ContainerRunner } from './runner.js';
import { buildPodStatus, type PodRecord, wireTime } from './status.js';
import { apiServerServiceEnv } from './env.js';
import { PodVolumes } from './volumes.js';

type Pod = Wire<V1Pod>;

export interface WorkerContext {
  kc: KubeConfig;
  hostIP: string;
  dir: string;
  binRoot: string;
  appDir?: string;
  domain: string;
  hostsFile: string;
  addresses: AddressPool;
  source: ObjectSource;
  events: EventRecorder;
  log: Logger;
}

/** Secret and ConfigMap volumes are re-read this often, as the kubelet's sync does (rotation). */
const volumeRefreshMs = 10_000;

/**
 * One pod on this node, from address and volumes through its containers' lives to its deletion.
 * Steps never overlap: a call while one runs marks it to run again, so every update is seen.
 */
export class PodWorker {
  private pod: Pod;
  private podIP: string | undefined;
  private volumes: PodVolumes | undefined;
  private initRunners: ContainerRunner[] = [];
  private runners: ContainerRunner[] = [];
  private record: PodRecord;
  private busy = false;
  private again = false;
  private gone = false;
  private lastPublished = '';
  private lastRefresh = 0;
  private lastMountError = '';
  /** The pod's containers are stopped for good and its object deleted (or gone). */
  finished = false;
  private readonly log: Logger;

  constructor(
    private readonly ctx: WorkerContext,
    pod: Pod,
  ) {
    this.pod = pod;
    this.log = ctx.log.child({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, uid: pod.metadata?.uid });
    this.record = { hostIP: ctx.hostIP, sandboxReady: false, restartPolicy: pod.spec?.restartPolicy ?? 'Always', startTime: wireTime(Date.now()), containers: [] };
    if (pod.status?.startTime) this.record.startTime = pod.status.startTime;
  }

  private get podDir(): string {
    const m = this.pod.metadata;
    return join(this.ctx.dir, 'pods', `${m?.namespace}_${m?.name}_${m?.uid}`);
  }

  update(pod: Pod): void {
    this.pod = pod;
    this.kick();
  }

  /** The pod object disappeared without us deleting it (a forced delete): stop at once. */
  podGone(): void {
    this.gone = true;
    this.kick();
  }

  kick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.step();
      } catch (err) {
        this.log.error('pod sync failed; retrying on the next tick', { error: String(err), statusCode: statusCodeOf(err) });
      }
    } while (this.again);
    this.busy = false;
  }

  private async step(): Promise<void> {
    if (this.finished) return;
    if (this.gone || this.pod.metadata?.deletionTimestamp) return this.terminate();
    if (!this.record.sandboxReady && !(await this.setUpSandbox())) return this.publish();
    if (Date.now() - this.lastRefresh > volumeRefreshMs) {
      await this.volumes!.refresh();
      this.lastRefresh = Date.now();
    }
    // Init containers one at a time, each to completion; the pod's containers only after them all.
    const initializing = this.initRunners.find((r) => !r.succeeded());
    if (initializing) await initializing.ensure(Date.now());
    else for (const runner of this.runners) await runner.ensure(Date.now());
    this.record.initialized = initializing === undefined;
    await this.publish();
  }

  /** Address and volumes; false (with a FailedMount event once per message) while they cannot be. */
  private async setUpSandbox(): Promise<boolean> {
    this.podIP ??= await this.ctx.addresses.allocate();
    this.record.podIP = this.podIP;
    const volumes = new PodVolumes({ kc: this.ctx.kc, pod: this.pod, podDir: this.podDir, source: this.ctx.source, podIP: this.podIP, hostIP: this.ctx.hostIP });
    try {
      await volumes.setUp();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.lastMountError) this.log.warn('volumes not ready', { error: String(err), statusCode: statusCodeOf(err) });
      return this.mountFailed(message);
    }
    this.volumes = volumes;
    this.lastRefresh = Date.now();
    // As on a new sandbox, init containers run again: the start guard re-checks the volume.
    const inits = this.pod.spec?.initContainers ?? [];
    const previousOf = (name: string, statuses: Wire<V1ContainerStatus>[] | undefined) => statuses?.find((s) => s.name === name);
    this.initRunners = inits.map((c) => new ContainerRunner(this.runnerContext(volumes), c, previousOf(c.name, this.pod.status?.initContainerStatuses)?.restartCount ?? 0, false, true));
    this.runners = (this.pod.spec?.containers ?? []).map((c) => {
      const previous = previousOf(c.name, this.pod.status?.containerStatuses);
      const ran = Boolean(previous?.state?.running ?? previous?.state?.terminated ?? previous?.lastState?.terminated);
      return new ContainerRunner(this.runnerContext(volumes), c, previous?.restartCount ?? 0, ran, false, inits.length > 0 ? 'PodInitializing' : 'ContainerCreating');
    });
    this.record.initContainers = this.initRunners.map((r) => r.record);
    this.record.containers = this.runners.map((r) => r.record);
    this.record.sandboxReady = true;
    this.log.info('sandbox ready', { podIP: this.podIP });
    return true;
  }

  private mountFailed(message: string): false {
    if (message !== this.lastMountError) this.ctx.events.record(this.pod, 'Warning', 'FailedMount', message);
    this.lastMountError = message;
    this.record.containers = (this.pod.spec?.containers ?? []).map((c) => ({
      name: c.name, image: c.image ?? '', imageID: '', restartCount: 0, state: { kind: 'waiting', reason: 'ContainerCreating' }, started: false, ready: false,
    }));
    return false;
  }

  private runnerContext(volumes: PodVolumes) {
    return {
      pod: () => this.pod,
      podIP: this.podIP!,
      hostIP: this.ctx.hostIP,
      podDir: this.podDir,
      volumePaths: volumes.paths,
      hostsFile: this.ctx.hostsFile,
      binRoot: this.ctx.binRoot,
      appDir: this.ctx.appDir,
      imageStore: join(this.ctx.dir, 'images'),
      domain: this.ctx.domain,
      serviceEnv: apiServerServiceEnv(this.ctx.kc.getCurrentCluster()!.server),
      source: this.ctx.source,
      events: this.ctx.events,
      log: this.log,
      changed: () => this.kick(),
    };
  }

  /** Writes the status when it differs from what was last written; a vanished pod is no error. */
  private async publish(): Promise<void> {
    const status = buildPodStatus(this.record, this.pod.status, wireTime(Date.now()));
    const body = JSON.stringify(status);
    if (body === this.lastPublished) return;
    const { namespace, name } = this.pod.metadata ?? {};
    await tolerating([404], () => mergePatch(this.ctx.kc, `${podPath(namespace ?? '', name ?? '')}/status`, { status }));
    this.lastPublished = body;
  }

  /** SIGTERM, SIGKILL after the grace period, final status, then the object is deleted for good. */
  private async terminate(): Promise<void> {
    const graceSeconds = this.gone ? 0 : (this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30);
    await Promise.all([...this.initRunners, ...this.runners].map((r) => r.terminate(graceSeconds * 1000)));
    const { namespace, name, uid } = this.pod.metadata ?? {};
    if (!this.gone) {
      await this.publish();
      await deletePodNow(this.ctx.kc, namespace ?? '', name ?? '', uid);
    }
    this.release();
    rmSync(this.podDir, { recursive: true, force: true });
    this.finished = true;
    this.log.info('pod terminated and removed', { graceSeconds });
  }

  private release(): void {
    if (this.podIP) this.ctx.addresses.release(this.podIP);
  }

  /** The agent is stopping: stop the containers (a node going down), leave the pod object alone. */
  async shutdown(graceMs: number): Promise<void> {
    await Promise.all([...this.initRunners, ...this.runners].map((r) => r.terminate(graceMs)));
    this.release();
    this.finished = true;
  }
}
