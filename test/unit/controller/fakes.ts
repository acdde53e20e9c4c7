/**
 * Fakes of the reconciler's own narrow dependencies: the informers' cache, the writer, the etcd
 * client pool and the live reads a pass may make (see ApiStub). Each keeps
 * what the API server would, so a test runs pass after pass and asserts the world that results.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { EtcdCluster, EtcdClusterStatus } from '../../../src/api/types.generated.js';
import { AdminPool } from '../../../src/controller/admin-pool.js';
import { KubeWriter } from '../../../src/controller/kube-writer.js';
import type { MemberEndpoint } from '../../../src/controller/observe-kube.js';
import type { EtcdAdmin, EtcdTls } from '../../../src/etcd/types.js';
import type { ClusterCache } from '../../../src/runtime/cache.js';
import type { Clock } from '../../../src/runtime/clock.js';
import { KubeApiError } from '../../../src/runtime/kube-http.js';
import type { Kind, ObjectOfKind } from '../../../src/runtime/kinds.js';
import { FakeEtcdAdmin } from '../etcd/fake.js';

const keyOf = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

/** The informers' view, holding what a test puts in and what the writer wrote. Copies out, copies in. */
export class FakeCache implements ClusterCache {
  private readonly objects = new Map<string, KubernetesObject>();

  put(obj: KubernetesObject): void {
    this.objects.set(keyOf(obj.kind!, obj.metadata!.namespace!, obj.metadata!.name!), clone(obj));
  }

  remove(kind: string, namespace: string, name: string): boolean {
    return this.objects.delete(keyOf(kind, namespace, name));
  }

  get<K extends Kind>(kind: K, namespace: string, name: string): ObjectOfKind[K] | undefined {
    const obj = this.objects.get(keyOf(kind, namespace, name));
    return obj ? (clone(obj) as ObjectOfKind[K]) : undefined;
  }

  list<K extends Kind>(kind: K, namespace: string, labels: Record<string, string> = {}): ObjectOfKind[K][] {
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && o.metadata?.namespace === namespace)
      .filter((o) => Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v))
      .map((o) => clone(o) as ObjectOfKind[K]);
  }
}

export type WriteOp = 'apply' | 'patchStatus' | 'delete' | 'event';

/** One request the writer was asked to send. `what` is `Kind/name`, or `Type/Reason` for events. */
export interface Write {
  op: WriteOp;
  what: string;
  object?: KubernetesObject;
  status?: EtcdClusterStatus;
  message?: string;
}

/**
 * A KubeWriter that sends nothing: it records each write and carries it out on the cache as the
 * API server and informers would (a UID and generation on create; the StatefulSet controller
 * records each generation at once). `refuse` makes the next matching write fail with an API error.
 */
export class RecordingWriter extends KubeWriter {
  readonly writes: Write[] = [];
  private readonly refusals: { op: WriteOp; what: RegExp; error: KubeApiError }[] = [];
  private uids = 0;

  constructor(private readonly cache: FakeCache, private readonly clock: Clock) {
    super(new KubeConfig());
  }

  /** The next write of `op` whose `what` matches fails with this HTTP status (as many times as called). */
  refuse(op: WriteOp, what: RegExp, statusCode = 422, reason = 'Invalid', message = 'refused by the test'): void {
    this.refusals.push({ op, what, error: new KubeApiError(statusCode, reason, message, undefined, `${op} ${what.source}`) });
  }

  events(type?: 'Normal' | 'Warning'): string[] {
    return this.writes.filter((w) => w.op === 'event' && (!type || w.what.startsWith(`${type}/`))).map((w) => w.what.split('/')[1]!);
  }

  private check(op: WriteOp, what: string): void {
    const i = this.refusals.findIndex((r) => r.op === op && r.what.test(what));
    if (i < 0) return;
    const [refusal] = this.refusals.splice(i, 1);
    throw refusal!.error;
  }

  override async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    await Promise.resolve();
    const what = `${obj.kind}/${obj.metadata!.name}`;
    this.check('apply', what);
    this.writes.push({ op: 'apply', what, object: clone(obj) });
    const live = this.cache.get(obj.kind as Kind, obj.metadata!.namespace!, obj.metadata!.name!) as (KubernetesObject & { spec?: unknown; status?: unknown }) | undefined;
    if (live && obj.kind === 'Pod' && !('spec' in obj)) return this.applyMetadata(obj, live, what);
    const changed = JSON.stringify((obj as { spec?: unknown }).spec) !== JSON.stringify(live?.spec);
    const generation = (live?.metadata?.generation ?? 0) + (live && !changed ? 0 : 1);
    const metadata = { ...obj.metadata, uid: live?.metadata?.uid ?? `uid-${obj.kind!.toLowerCase()}-${++this.uids}`, creationTimestamp: live?.metadata?.creationTimestamp ?? new Date(this.clock.now()).toISOString(), generation };
    const status = obj.kind === 'StatefulSet' ? { observedGeneration: generation, replicas: (obj as { spec?: { replicas?: number } }).spec?.replicas } : live?.status;
    this.cache.put({ ...obj, metadata, ...(status ? { status } : {}) });
    return obj;
  }

  /** Annotation keys each object got from a metadata-only apply: applying without one removes it, as server-side apply does. */
  private readonly appliedAnnotations = new Map<string, string[]>();

  /** A metadata-only apply (a pod's annotation): the rest of the live object stays. */
  private applyMetadata<T extends KubernetesObject>(obj: T, live: KubernetesObject, what: string): T {
    const kept = Object.entries(live.metadata?.annotations ?? {}).filter(([k]) => !(this.appliedAnnotations.get(what) ?? []).includes(k));
    const annotations = { ...Object.fromEntries(kept), ...obj.metadata!.annotations };
    this.appliedAnnotations.set(what, Object.keys(obj.metadata!.annotations ?? {}));
    this.cache.put({ ...live, metadata: { ...live.metadata, annotations } });
    return obj;
  }

  override async patchStatus(cluster: EtcdCluster, status: EtcdClusterStatus): Promise<void> {
    await Promise.resolve();
    const what = `EtcdCluster/${cluster.metadata.name}`;
    this.check('patchStatus', what);
    this.writes.push({ op: 'patchStatus', what, status: clone(status) });
    const live = this.cache.get('EtcdCluster', cluster.metadata.namespace!, cluster.metadata.name!);
    if (live) this.cache.put({ ...live, status: clone(status) } as KubernetesObject);
  }

  override async delete(kind: string, _apiVersion: string, namespace: string, name: string): Promise<void> {
    await Promise.resolve();
    const what = `${kind}/${name}`;
    this.check('delete', what);
    this.writes.push({ op: 'delete', what });
    this.cache.remove(kind, namespace, name);
  }

  override async event(_cluster: EtcdCluster, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await Promise.resolve();
    const what = `${type}/${reason}`;
    this.check('event', what);
    this.writes.push({ op: 'event', what, message });
  }
}

/**
 * Hands out one fake etcd, whatever the endpoints and credentials (a new client per change of
 * endpoints would be a new view of the same cluster). Before any member exists, a fake with none.
 */
export class FakeAdminPool extends AdminPool {
  etcd: EtcdAdmin = new FakeEtcdAdmin([]);
  endpoints: MemberEndpoint[] = [];
  tls: EtcdTls | undefined;
  readonly dropped: string[] = [];

  constructor() {
    super(() => {
      throw new Error('FakeAdminPool builds no client');
    });
  }

  override get(_key: string, endpoints: MemberEndpoint[], tls: EtcdTls): EtcdAdmin {
    this.endpoints = endpoints;
    this.tls = tls;
    return this.etcd;
  }

  override drop(key: string): void {
    this.dropped.push(key);
  }
}

/**
 * The live reads a pass may still make: a Secret the cache is behind on (our own recent write),
 * or an absence confirmed before the plan acts on it (the Secret may be the user's, or relabelled). This stub answers every request 404 and remembers it; a test
 * asserts that no write ever reaches it (writes go through the writer).
 */
export class ApiStub {
  readonly requests: string[] = [];
  readonly kc = new KubeConfig();
  private readonly server = http.createServer((req, res) => {
    this.requests.push(`${req.method} ${req.url}`);
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'not found (unit test stub)' }));
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.kc.loadFromOptions({
      clusters: [{ name: 'stub', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'stub' }],
      contexts: [{ name: 'stub', cluster: 'stub', user: 'stub' }],
      currentContext: 'stub',
    });
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
