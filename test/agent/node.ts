import { randomUUID } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { kubeRequest, statusCodeOf } from '../../src/runtime/kube-http.js';
import { mergePatch, tolerating } from './kube.js';

/** Lease renewals as the kubelet does them: every 10s, valid 40s. */
const leaseDurationSeconds = 40;
const leaseRenewMs = 10_000;
/** Full status (condition heartbeats) well inside the node monitor's grace period. */
const statusUpdateMs = 30_000;

function microTime(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function condition(type: string, status: string, reason: string, message: string, now: string, since: string) {
  return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since };
}

export interface NodeIdentity {
  name: string;
  hostIP: string;
  kubeletVersion: string;
  /** Directory whose filesystem is reported as ephemeral storage. */
  dir: string;
}

/** What the node reports: capacity of this machine, Ready, and where it is reached. */
export function nodeStatus(id: NodeIdentity, bootID: string, since: string) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const fs = statfsSync(id.dir);
  const capacity = { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '110', 'ephemeral-storage': `${Math.floor((fs.blocks * fs.bsize) / 1024)}Ki` };
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', now, since),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', now, since),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', now, since),
      condition('Ready', 'True', 'KubeletReady', 'local node agent is posting ready status', now, since),
    ],
    addresses: [
      { type: 'InternalIP', address: id.hostIP },
      { type: 'Hostname', address: id.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: bootID.replaceAll('-', ''),
      systemUUID: bootID,
      bootID,
      kernelVersion: release(),
      osImage: 'etcd-operator local node agent',
      containerRuntimeVersion: 'local-agent://0.1.0',
      kubeletVersion: id.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

/**
 * Registers the Node and keeps it alive: a Lease in kube-node-lease renewed every 10s and the
 * status heartbeat every 30s, so the node lifecycle controller never marks it NotReady or
 * taints it while the agent runs.
 */
export class NodeHeartbeat {
  private readonly bootID = randomUUID();
  private readonly since = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  private timers: NodeJS.Timeout[] = [];
  private nodeUid = '';

  constructor(
    private readonly kc: KubeConfig,
    private readonly id: NodeIdentity,
    private readonly log: Logger,
  ) {}

  async register(): Promise<void> {
    const labels = { 'kubernetes.io/hostname': this.id.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': nodeStatus(this.id, this.bootID, this.since).nodeInfo.architecture };
    const body = { apiVersion: 'v1', kind: 'Node', metadata: { name: this.id.name, labels } };
    await tolerating([409], () => kubeRequest(this.kc, '/api/v1/nodes', { method: 'POST', body }));
    const node = await kubeRequest<{ metadata: { uid: string } }>(this.kc, `/api/v1/nodes/${this.id.name}`);
    this.nodeUid = node.metadata.uid;
    await this.postStatus();
    await this.renewLease();
    this.timers = [this.every(leaseRenewMs, () => this.renewLease()), this.every(statusUpdateMs, () => this.postStatus())];
  }

  private every(ms: number, fn: () => Promise<void>): NodeJS.Timeout {
    return setInterval(() => {
      fn().catch((err: unknown) => this.log.warn('node heartbeat failed', { error: String(err), statusCode: statusCodeOf(err) }));
    }, ms);
  }

  private async postStatus(): Promise<void> {
    await mergePatch(this.kc, `/api/v1/nodes/${this.id.name}/status`, { status: nodeStatus(this.id, this.bootID, this.since) });
  }

  private async renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.id.name}`;
    const spec = { holderIdentity: this.id.name, leaseDurationSeconds, renewTime: microTime() };
    try {
      await mergePatch(this.kc, path, { spec });
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
      const ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: this.id.name, uid: this.nodeUid }];
      const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.id.name, namespace: 'kube-node-lease', ownerReferences }, spec };
      await kubeRequest(this.kc, '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', { method: 'POST', body });
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
