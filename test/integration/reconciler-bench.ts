import { readFileSync } from 'node:fs';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { AdminPool } from '../../src/controller/admin-pool.js';
import { EtcdClusterReconciler } from '../../src/controller/reconcile.js';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { labelKeys } from '../../src/resources/names.js';
import { InformerCache } from '../../src/runtime/cache.js';
import { type Clock, realClock } from '../../src/runtime/clock.js';
import type { PassContext } from '../../src/runtime/reconciler.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { CountingWriter } from './counting-writer.js';

const day = 24 * 3600_000;

/**
 * The reconciler against a real API server, one pass at a time, with a writer that notes each
 * write and a clock that can be moved ahead by days. No kubelet runs, so etcd never answers.
 */
export class ReconcilerBench {
  readonly ns = 'default';
  readonly writer: CountingWriter;
  readonly cache: InformerCache;
  /** Secrets the reconciler's cache does not show, as if their watch events were late. */
  readonly hiddenSecrets = new Set<string>();
  /** Days added to the operator's clock, to make certificates fall due. */
  daysAhead = 0;
  /** Whether the reconciler sees the operator's PVCs (as main wires it); off, it sees none. */
  claimsFromCache = false;
  /** The EtcdBackups the reconciler sees, as the backup controller's cache would hold them. */
  backups: EtcdBackup[] = [];
  private readonly reconciler: EtcdClusterReconciler;
  private readonly admins: AdminPool;
  private readonly ctx: PassContext = { log: createLogger('error'), passId: 'test', signal: new AbortController().signal };

  private constructor(readonly cp: ControlPlane) {
    const kc = cp.kubeConfig();
    this.cache = new InformerCache({ kc, namespaces: [], log: this.ctx.log });
    this.admins = new AdminPool((endpoints, tls) => createEtcdAdmin({ endpoints: endpoints.map((e) => e.url), tls, callTimeoutMs: 2_000 }));
    this.writer = new CountingWriter(kc);
    const clock: Clock = { now: () => realClock.now() + this.daysAhead * day, schedule: (ms, fn) => realClock.schedule(ms, fn) };
    // The reconciler's view: the cache, less the Secrets a test hides (a watch event not in yet).
    const get: InformerCache['get'] = (kind, namespace, n) => (kind === 'Secret' && this.hiddenSecrets.has(n) ? undefined : this.cache.get(kind, namespace, n));
    const view = Object.assign(Object.create(this.cache) as InformerCache, { get });
    this.reconciler = new EtcdClusterReconciler({ cache: view, kc, writer: this.writer, admins: this.admins, clock, clusterDomain: 'cluster.local', pvcs: (ns) => (this.claimsFromCache ? (this.cache.list('PersistentVolumeClaim', ns, { [labelKeys.managedBy]: 'etcd-operator' }) as V1PersistentVolumeClaim[]) : []), backups: () => this.backups });
  }

  static async start(label: string): Promise<ReconcilerBench> {
    const cp = await startControlPlane(label);
    const crd = await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    expect(crd.code, crd.stderr).toBe(0);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    // Pods are refused until the service-account controller made the namespace's default one.
    await waitFor('the default ServiceAccount', async () => (await cp.kubectl(['get', 'serviceaccount', 'default', '-n', 'default'])).code === 0);
    const bench = new ReconcilerBench(cp);
    bench.cache.start();
    await bench.cache.waitForSync();
    return bench;
  }

  async stop(): Promise<void> {
    this.admins.closeAll();
    await this.cache.stop();
    await this.cp.stop();
  }

  async kubectl(...args: string[]): Promise<string> {
    const res = await this.cp.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }

  async cluster(name: string): Promise<EtcdCluster> {
    return JSON.parse(await this.kubectl('get', 'etcdcluster', name, '-n', this.ns, '-o', 'json')) as EtcdCluster;
  }

  /** The sample EtcdCluster under another name, in the cache before this returns. */
  async create(name: string, spec: Partial<EtcdCluster['spec']> = {}): Promise<void> {
    const sample = parse(readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8')) as EtcdCluster;
    const res = await this.cp.kubectl(['apply', '-n', this.ns, '-f', '-'], { input: JSON.stringify({ ...sample, metadata: { name }, spec: { ...sample.spec, ...spec } }) });
    expect(res.code, res.stderr).toBe(0);
    await waitFor(`${name} in the cache`, () => this.cache.get('EtcdCluster', this.ns, name));
  }

  /** resourceVersions of the cluster and of its labelled children, by kind/name. */
  async versions(name: string): Promise<Record<string, string>> {
    type Item = { kind: string; metadata: { name: string; resourceVersion: string } };
    const out = await this.kubectl('get', 'statefulset,secret,configmap,service,poddisruptionbudget', '-n', this.ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json');
    const items = (JSON.parse(out) as { items: Item[] }).items;
    items.push((await this.cluster(name)) as unknown as Item);
    return Object.fromEntries(items.map((i) => [`${i.kind}/${i.metadata.name}`, i.metadata.resourceVersion]));
  }

  async secretVersions(name: string): Promise<Record<string, string>> {
    return Object.fromEntries(Object.entries(await this.versions(name)).filter(([k]) => k.startsWith('Secret/')));
  }

  /**
   * One pass, once the cache has seen every write made so far; returns the pass's writes. The
   * objects are listed again on each look: a deleted cluster's children go while the garbage
   * collector works through them, and one listed once and then gone would never reach the cache
   * (a CI run waited out the 60 s for such an object after a cluster was made again under its
   * name).
   */
  async pass(name: string): Promise<string[]> {
    await waitFor('cache to catch up', async () => Object.entries(await this.versions(name)).every(([k, rv]) => {
      const [kind, n] = k.split('/') as [string, string];
      const cached = this.cache.get(kind as 'Secret', this.ns, n)?.metadata?.resourceVersion;
      return cached !== undefined && Number(cached) >= Number(rv);
    }));
    this.writer.writes.length = 0;
    await this.reconciler.reconcile(`${this.ns}/${name}`, this.ctx);
    return [...this.writer.writes];
  }

  /** One pass at once, whatever the cache has seen; returns the pass's writes. */
  async passNow(name: string): Promise<string[]> {
    this.writer.writes.length = 0;
    await this.reconciler.reconcile(`${this.ns}/${name}`, this.ctx);
    return [...this.writer.writes];
  }

  /** The API server's count of requests for `resource` with `verb` (GET, LIST, ...), every client. */
  async requests(resource: string, verb: string): Promise<number> {
    const text = await this.kubectl('get', '--raw', '/metrics');
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('apiserver_request_total{') && line.includes(`resource="${resource}"`) && line.includes(`verb="${verb}"`) && line.includes('subresource=""')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  }

  /** Passes until one writes nothing. */
  async settle(name: string): Promise<void> {
    for (let i = 0; i < 10; i++) if ((await this.pass(name)).length === 0) return;
    throw new Error('passes never settled');
  }
}

export const secretWrites = (writes: string[]) => writes.filter((w) => w.startsWith('apply Secret/'));
