import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Wire } from '../../src/runtime/kinds.js';
import { CrashBackoff } from './backoff.js';
import { type ContainerProcess, describeExit, type Exit, launch } from './container.js';
import { ContainerConfigError, containerEnv } from './env.js';
import type { EventRecorder } from './events.js';
import { expandAll } from './expand.js';
import { type ImageResolution, operatorImageBinds, operatorImagePaths, pullImage, resolveImage } from './images.js';
import type { ObjectSource } from './kube.js';
import { ContainerProbes } from './probes.js';
import { type Bind, type ContainerRoot, prepareRoot, resolvConf, systemBinds } from './rootfs.js';
import { type ContainerRecord, type Terminated, wireTime } from './status.js';
import { terminationFile, terminationMessage } from './termination.js';

type Pod = Wire<V1Pod>;
type Container = Wire<V1Container>;

export interface RunnerContext {
  pod(): Pod;
  podIP: string;
  hostIP: string;
  podDir: string;
  /** Volume name -> host directory. */
  volumePaths: ReadonlyMap<string, string>;
  hostsFile: string;
  binRoot: string;
  /** The agent's image store, where pulled releases are linked. */
  imageStore: string;
  /** The project's directory, whose built dist/ stands for the operator's image. */
  appDir?: string;
  domain: string;
  /** KUBERNETES_SERVICE_HOST and its kin, for in-cluster clients. */
  serviceEnv: ReadonlyMap<string, string>;
  source: ObjectSource;
  events: EventRecorder;
  log: Logger;
  /** Something in the container's record changed: publish the pod status. */
  changed(): void;
}

/** What a pulled image gives a container: its files (as binds), entrypoint and ID. */
interface ImageContent {
  binds: Bind[];
  entrypoint: string[];
  imageID: string;
  present: boolean;
}

/** The etcd image holds etcd's binaries in /usr/local/bin and runs etcd; the operator's runs Node.js. */
function imageContent(image: Extract<ImageResolution, { ok: true }>, imageStore: string): ImageContent {
  if (image.kind === 'operator') {
    const entrypoint = [operatorImagePaths.node, '--enable-source-maps', `${operatorImagePaths.app}/dist/main.js`];
    return { binds: operatorImageBinds(image.appDir, process.execPath), entrypoint, imageID: `file://${image.appDir}/dist`, present: true };
  }
  const pulled = pullImage(imageStore, image);
  const binds = [{ source: pulled.dir, target: '/usr/local/bin', readOnly: true }];
  return { binds, entrypoint: ['/usr/local/bin/etcd'], imageID: `file://${image.dir}/etcd`, present: pulled.present };
}

/**
 * One container of a pod through its starts, probes, exits and restarts, as the kubelet runs it.
 * An init container runs to completion: it is restarted only after a failure.
 */
export class ContainerRunner {
  readonly record: ContainerRecord;
  private proc: ContainerProcess | undefined;
  private probes: ContainerProbes | undefined;
  private notBefore = 0;
  private readonly crashes = new CrashBackoff();
  private readonly pulls = new CrashBackoff();
  private hasRun: boolean;
  private starting = false;
  private terminating = false;
  private readTerminationMessage: ((exitCode: number) => string | undefined) | undefined;

  constructor(
    private readonly ctx: RunnerContext,
    private readonly spec: Container,
    previousRestarts: number,
    previouslyRan: boolean,
    private readonly init = false,
    waitingReason = 'ContainerCreating',
  ) {
    this.record = { name: spec.name, image: spec.image ?? '', imageID: '', restartCount: previousRestarts, state: { kind: 'waiting', reason: waitingReason }, started: false, ready: false };
    this.hasRun = previouslyRan;
  }

  private get podRef(): string {
    const m = this.ctx.pod().metadata;
    return `${m?.name}_${m?.namespace}(${m?.uid})`;
  }

  private shouldRestart(): boolean {
    const policy = this.ctx.pod().spec?.restartPolicy ?? 'Always';
    const last = this.record.state.kind === 'terminated' ? this.record.state : this.record.lastTerminated;
    const failed = (last?.exitCode ?? 0) !== 0;
    if (this.init) return policy !== 'Never' && failed;
    return policy === 'Always' || (policy === 'OnFailure' && failed);
  }

  /** An init container that ran to completion: the pod's next container may start. */
  succeeded(): boolean {
    return this.record.state.kind === 'terminated' && this.record.state.exitCode === 0;
  }

  /** Starts the container unless it runs, is stopping, waits out a backoff, or is done for good. */
  async ensure(now: number): Promise<void> {
    if (this.proc?.running() || this.starting || this.terminating || now < this.notBefore) return;
    if (this.record.state.kind === 'terminated' && !this.shouldRestart()) return;
    this.starting = true;
    try {
      await this.start(now);
    } finally {
      this.starting = false;
    }
  }

  private waitWith(reason: string, message: string, retryInMs: number, now: number): void {
    const changed = this.record.state.kind !== 'waiting' || this.record.state.message !== message || this.record.state.reason !== reason;
    this.record.state = { kind: 'waiting', reason, message };
    this.notBefore = now + retryInMs;
    if (changed) this.ctx.changed();
  }

  private async start(now: number): Promise<void> {
    const image = resolveImage(this.spec.image ?? '', this.ctx.binRoot, existsSync, this.ctx.appDir);
    if (!image.ok) {
      const delay = this.pulls.next(now);
      const reason = delay === 0 || image.reason === 'InvalidImageName' ? image.reason : 'ImagePullBackOff';
      this.ctx.events.record(this.ctx.pod(), 'Warning', 'Failed', `Failed to pull image "${this.spec.image}": ${image.message}`);
      return this.waitWith(reason, image.message, Math.max(delay, 1_000), now);
    }
    const pulled = imageContent(image, this.ctx.imageStore);
    this.record.imageID = pulled.imageID;
    const pullMessage = pulled.present ? `Container image "${this.spec.image}" already present on machine` : `Successfully pulled image "${this.spec.image}"`;
    this.ctx.events.record(this.ctx.pod(), 'Normal', 'Pulled', pullMessage);
    let argv: string[];
    let env: Map<string, string>;
    let root: ContainerRoot;
    try {
      env = await containerEnv(this.ctx.pod(), this.spec, { pod: this.ctx.podIP, host: this.ctx.hostIP }, this.ctx.source, this.ctx.serviceEnv);
      const command = this.spec.command?.length ? expandAll(this.spec.command, env) : pulled.entrypoint;
      argv = [...command, ...expandAll(this.spec.args, env)];
      root = this.containerRoot(pulled.binds);
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      this.ctx.events.record(this.ctx.pod(), 'Warning', 'Failed', `Error: ${err.message}`);
      return this.waitWith('CreateContainerConfigError', err.message, 10_000, now);
    }
    // The pod may have been deleted while its configuration was being read.
    if (!this.terminating) this.run(argv, env, root);
  }

  private run(argv: string[], env: Map<string, string>, root: ContainerRoot): void {
    if (this.hasRun) this.record.restartCount++;
    this.hasRun = true;
    const dir = join(this.ctx.podDir, 'containers', this.spec.name);
    const logPath = join(dir, `${this.record.restartCount}.log`);
    const termination = terminationFile(dir, this.record.restartCount, this.spec);
    prepareRoot({ ...root, binds: [...root.binds, termination.bind] }, resolvConf(this.ctx.pod().metadata?.namespace ?? 'default', this.ctx.domain));
    const proc = launch({ ...root, binds: [...root.binds, termination.bind] }, argv, env, logPath);
    this.readTerminationMessage = (exitCode) => terminationMessage(termination.bind.source, logPath, exitCode, this.spec.terminationMessagePolicy);
    const startedAt = wireTime(Date.now());
    this.proc = proc;
    this.record.containerID = `local-agent://${proc.pid}`;
    this.record.state = { kind: 'running', startedAt };
    this.record.started = !this.spec.startupProbe;
    this.record.ready = false;
    this.ctx.log.info('container started', { container: this.spec.name, pid: proc.pid, restartCount: this.record.restartCount });
    this.ctx.events.record(this.ctx.pod(), 'Normal', 'Started', `Started container ${this.spec.name}`);
    this.probes = new ContainerProbes(this.ctx.podIP, this.spec, {
      started: () => this.update({ started: true }),
      readiness: (ready) => this.update({ ready }),
      unhealthy: (kind, message) => this.ctx.events.record(this.ctx.pod(), 'Warning', 'Unhealthy', `${kind} probe failed: ${message}`),
      failed: (kind) => void this.kill(`Container ${this.spec.name} failed ${kind.toLowerCase()} probe, will be restarted`),
    });
    this.probes.start();
    this.ctx.changed();
    void proc.exited.then((exit) => this.exited(proc, exit, startedAt));
  }

  private update(change: Partial<Pick<ContainerRecord, 'started' | 'ready'>>): void {
    if (this.record.state.kind !== 'running') return;
    this.ctx.log.debug('probe result', { container: this.spec.name, ...change });
    Object.assign(this.record, change);
    this.ctx.changed();
  }

  private exited(proc: ContainerProcess, exit: Exit, startedAt: string): void {
    this.probes?.stop();
    const now = Date.now();
    const described = describeExit(exit);
    const message = this.readTerminationMessage?.(described.exitCode);
    const term: Terminated = { kind: 'terminated', ...described, ...(message ? { message } : {}), startedAt, finishedAt: wireTime(now), containerID: `local-agent://${proc.pid}` };
    this.ctx.log.info('container exited', { container: this.spec.name, pid: proc.pid, exitCode: term.exitCode, signal: exit.signal });
    this.record.started = false;
    this.record.ready = false;
    this.record.state = term;
    if (!this.terminating && this.shouldRestart()) {
      const delay = this.crashes.next(now);
      this.record.lastTerminated = term;
      this.notBefore = now + delay;
      if (delay > 0) {
        const message = `back-off ${delay / 1000}s restarting failed container=${this.spec.name} pod=${this.podRef}`;
        this.record.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message };
        this.ctx.events.record(this.ctx.pod(), 'Warning', 'BackOff', `Back-off restarting failed container ${this.spec.name} in pod ${this.podRef}`);
      }
    }
    this.ctx.changed();
  }

  /** Stops the running process (liveness failure); the restart policy decides what follows. */
  private async kill(message: string): Promise<void> {
    const proc = this.proc;
    if (!proc?.running()) return;
    this.ctx.events.record(this.ctx.pod(), 'Normal', 'Killing', message);
    await proc.stop((this.ctx.pod().spec?.terminationGracePeriodSeconds ?? 30) * 1000);
  }

  /** Stops the container for good: the pod is going away or the agent is stopping. */
  async terminate(graceMs: number): Promise<void> {
    this.terminating = true;
    this.probes?.stop();
    const proc = this.proc;
    if (!proc?.running()) return;
    this.ctx.events.record(this.ctx.pod(), 'Normal', 'Killing', `Stopping container ${this.spec.name}`);
    await proc.stop(graceMs);
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  private containerRoot(imageBinds: Bind[]): ContainerRoot {
    const pod = this.ctx.pod();
    const psc = pod.spec?.securityContext ?? {};
    const csc = this.spec.securityContext ?? {};
    const uid = csc.runAsUser ?? psc.runAsUser ?? 0;
    if ((csc.runAsNonRoot ?? psc.runAsNonRoot) && uid === 0) throw new ContainerConfigError('container has runAsNonRoot and image will run as root');
    const gid = csc.runAsGroup ?? psc.runAsGroup ?? 0;
    const groups = [...new Set([psc.fsGroup, ...(psc.supplementalGroups ?? [])].filter((g): g is number => g !== undefined))];
    const binds = [...systemBinds(this.ctx.hostsFile), ...imageBinds];
    for (const m of this.spec.volumeMounts ?? []) {
      if (m.subPath || m.subPathExpr) throw new ContainerConfigError(`volume mount ${m.name}: subPath is not supported by the local agent`);
      const source = this.ctx.volumePaths.get(m.name);
      if (!source) throw new ContainerConfigError(`volume mount ${m.name}: no such volume`);
      binds.push({ source, target: m.mountPath, readOnly: m.readOnly ?? false });
    }
    const root = join(this.ctx.podDir, 'containers', this.spec.name, 'rootfs');
    const hostname = pod.spec?.hostname ?? pod.metadata?.name ?? 'pod';
    return { root, hostname, binds, readOnlyRoot: csc.readOnlyRootFilesystem ?? false, uid, gid, groups };
  }
}
