import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject, type V1Node, type V1PersistentVolume, type V1PersistentVolumeClaim, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { Informer } from '../../src/runtime/informer.js';
import type { ResourceType, Wire } from '../../src/runtime/kinds.js';
import { statusCodeOf } from '../../src/runtime/kube-http.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { cacheDir, pinnedVersions, repoRoot } from '../harness/binaries.js';
import { AddressPool } from './addresses.js';
import { type EventRecorder, eventRecorder } from './events.js';
import { dnsEntries, HostsFile, renderHosts } from './hosts.js';
import { apiObjectSource } from './kube.js';
import { NodeHeartbeat } from './node.js';
import { PodManager } from './pods.js';
import { Scheduler } from './scheduler.js';
import { Provisioner } from './storage.js';

export interface AgentOptions {
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  /** The agent's own directory: volumes, pod directories, the hosts file. */
  dir: string;
  log?: Logger;
  nodeName?: string;
  storageClassName?: string;
  clusterDomain?: string;
  /** Where locally built etcd releases live (`etcd-vX.Y.Z/etcd`). */
  binRoot?: string;
  /** The project whose built dist/ the operator's image stands for (default: this checkout). */
  appDir?: string;
  /** How long containers get to stop when the agent stops (default 10s). */
  stopGraceMs?: number;
}

export interface Agent {
  readonly nodeName: string;
  readonly dir: string;
  /** The cluster-DNS hosts file every container sees as /etc/hosts. */
  readonly hostsFile: string;
  /** Loopback addresses currently given to pods. */
  addresses(): string[];
  /** Stops every container (SIGTERM, then SIGKILL), releases addresses, stops watching. */
  stop(): Promise<void>;
}

/** An informer whose cache is read as wire objects of one kind (it stores them untyped). */
function watched<T>(kc: KubeConfig, resource: ResourceType, log: Logger) {
  const informer = new Informer<KubernetesObject>({ kc, resource, log });
  return {
    informer,
    list: () => informer.store.list() as unknown as T[],
    get: (namespace: string, name: string) => informer.store.get(namespace, name) as unknown as T | undefined,
  };
}

const core = (plural: string, kind: string): ResourceType => ({ group: '', version: 'v1', plural, kind });

/** Nothing waits longer than this to look again: backoffs expire, volumes refresh. */
const tickMs = 1_000;

function kubeConfigOf(options: AgentOptions): KubeConfig {
  if (options.kubeConfig) return options.kubeConfig;
  const kc = new KubeConfig();
  if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

/**
 * Starts the local node agent: the kubelet, the scheduler's binding and a local volume
 * provisioner for one node on this machine. Everything it does is level-triggered: every watch
 * event and a 1s tick run one pass over the informers' caches.
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const kc = kubeConfigOf(options);
  const nodeName = options.nodeName ?? 'local-agent';
  const domain = options.clusterDomain ?? 'cluster.local';
  const log = (options.log ?? createLogger('info')).child({ component: 'local-agent', node: nodeName });
  const dir = options.dir;
  mkdirSync(join(dir, 'pods'), { recursive: true });
  mkdirSync(join(dir, 'volumes'), { recursive: true });

  const pods = watched<Wire<V1Pod>>(kc, core('pods', 'Pod'), log);
  const services = watched<Wire<V1Service>>(kc, core('services', 'Service'), log);
  const claims = watched<Wire<V1PersistentVolumeClaim>>(kc, core('persistentvolumeclaims', 'PersistentVolumeClaim'), log);
  const volumes = watched<Wire<V1PersistentVolume>>(kc, core('persistentvolumes', 'PersistentVolume'), log);
  const nodes = watched<Wire<V1Node>>(kc, core('nodes', 'Node'), log);
  const informers = [pods, services, claims, volumes, nodes].map((w) => w.informer);

  const hostIP = '127.0.0.1';
  const hosts = new HostsFile(join(dir, 'hosts'));
  const addresses = new AddressPool();
  let stopped = false;
  // Stopping, the agent kills every container; their Killing events are not sent, since the API
  // server may be going down at the same moment (the demo's Ctrl-C stops everything at once), and
  // each failed one logged a warning.
  const kubelet = eventRecorder(kc, 'kubelet', nodeName, log);
  const kubeletEvents: EventRecorder = { record: (...event) => (stopped ? undefined : kubelet.record(...event)) };
  const heartbeat = new NodeHeartbeat(kc, { name: nodeName, hostIP, kubeletVersion: pinnedVersions.kubernetes, dir }, log);
  const provisioner = new Provisioner(kc, options.storageClassName ?? 'local-agent', nodeName, dir, eventRecorder(kc, provisionerComponent, nodeName, log), log);
  const scheduler = new Scheduler(kc, nodeName, eventRecorder(kc, 'default-scheduler', nodeName, log), log);
  const binRoot = options.binRoot ?? join(cacheDir, 'bin');
  const source = apiObjectSource(kc);
  const manager = new PodManager({ kc, hostIP, dir, binRoot, appDir: options.appDir ?? repoRoot, domain, hostsFile: hosts.path, addresses, source, events: kubeletEvents, log }, nodeName);

  await heartbeat.register();
  await provisioner.ensureClass();

  let passing = false;
  let again = false;
  const pass = async () => {
    const podList = pods.list();
    hosts.update(renderHosts(dnsEntries(podList, services.list(), domain)));
    await provisioner.sync(claims.list(), volumes.list());
    await scheduler.schedule(podList, nodes.get('', nodeName), (ns, name) => claims.get(ns, name));
    manager.sync(podList);
  };
  let idle: Promise<void> = Promise.resolve();
  const sync = () => {
    if (stopped || !informers.every((i) => i.hasSynced())) return;
    if (passing) {
      again = true;
      return;
    }
    passing = true;
    idle = (async () => {
      do {
        again = false;
        await pass().catch((err: unknown) => log.error('agent pass failed; retrying', { error: String(err), statusCode: statusCodeOf(err) }));
      } while (again && !stopped);
      passing = false;
    })();
  };
  for (const i of informers) {
    i.on(() => sync());
    i.start();
  }
  await Promise.all(informers.map((i) => i.synced));
  const ticker = setInterval(sync, tickMs);
  sync();
  log.info('agent started', { dir, binRoot });

  return {
    nodeName,
    dir,
    hostsFile: hosts.path,
    addresses: () => addresses.addresses(),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      heartbeat.stop();
      await idle;
      await Promise.all(informers.map((i) => i.stop()));
      await manager.shutdown(options.stopGraceMs ?? 10_000);
      addresses.releaseAll();
      log.info('agent stopped');
    },
  };
}

const provisionerComponent = 'local-agent-provisioner';
