import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Clock } from './clock.js';
import { type Kind, keyOf, type ObjectOfKind, watchedKinds } from './kinds.js';
import { Informer, type InformerObserver } from './informer.js';
import { type NamedView, NamedWatches } from './named-watches.js';
import { childLabelSelector, owningClusterKey } from './owners.js';

/** What a reconciler reads: the informers' view of the world, never a live API call. */
export interface ClusterCache {
  /** The object, or undefined when it does not exist (as far as the last event says). */
  get<K extends Kind>(kind: K, namespace: string, name: string): ObjectOfKind[K] | undefined;
  /** Objects of `kind` in `namespace` whose labels include every entry of `labels`. */
  list<K extends Kind>(kind: K, namespace: string, labels?: Record<string, string>): ObjectOfKind[K][];
  /** True once every informer has listed. Absent: a cache that is always complete (test fakes). */
  hasSynced?(): boolean;
  /**
   * A Secret the cluster `clusterKey` names but does not own (a user's CA), from a watch of its
   * own by name (named-watches.ts). Absent: read it live.
   */
  namedSecret?(clusterKey: string, namespace: string, name: string): NamedView<KubernetesObject>;
  /** The cluster names no Secret any more: its watch may stop. */
  releaseNamed?(clusterKey: string): void;
}

export interface InformerCacheOptions {
  kc: KubeConfig;
  /** Namespaces to watch; empty watches all of them. */
  namespaces: string[];
  log: Logger;
  clock?: Clock;
  observer?: InformerObserver;
  backoff?: { baseMs: number; capMs: number; resetAfterMs: number };
}

/**
 * One informer per watched kind (and per namespace when a list is configured). Every event is
 * turned into the key of the EtcdCluster it concerns; nothing else leaves this module.
 */
export class InformerCache implements ClusterCache {
  private readonly informers = new Map<Kind, Map<string, Informer<KubernetesObject>>>();
  private readonly listeners: ((key: string) => void)[] = [];
  private readonly named: NamedWatches<KubernetesObject>;

  constructor(private readonly options: InformerCacheOptions) {
    const scopes = options.namespaces.length > 0 ? options.namespaces : [''];
    for (const kind of Object.keys(watchedKinds) as Kind[]) {
      const byScope = new Map<string, Informer<KubernetesObject>>();
      for (const namespace of scopes) byScope.set(namespace, this.makeInformer(kind, namespace));
      this.informers.set(kind, byScope);
    }
    this.named = new NamedWatches(
      (namespace, name) => new Informer({ ...this.informerOptions(), resource: watchedKinds.Secret, namespace, fieldSelector: `metadata.name=${name}`, metricLabel: `secrets/${namespace}?metadata.name` }),
      (key) => {
        for (const listener of this.listeners) listener(key);
      },
    );
  }

  namedSecret(clusterKey: string, namespace: string, name: string): NamedView<KubernetesObject> {
    this.informerFor('Secret', namespace); // throws for a namespace outside the watched ones
    return this.named.get(clusterKey, namespace, name);
  }

  releaseNamed(clusterKey: string): void {
    this.named.release(clusterKey);
  }

  /** Called with an EtcdCluster key for every change to the cluster or one of its children. */
  onClusterEvent(listener: (key: string) => void): void {
    this.listeners.push(listener);
  }

  get<K extends Kind>(kind: K, namespace: string, name: string): ObjectOfKind[K] | undefined {
    return this.informerFor(kind, namespace).store.get(namespace, name) as ObjectOfKind[K] | undefined;
  }

  list<K extends Kind>(kind: K, namespace: string, labels: Record<string, string> = {}): ObjectOfKind[K][] {
    const wanted = Object.entries(labels);
    const items = this.informerFor(kind, namespace).store.list(namespace);
    return items.filter((o) => wanted.every(([k, v]) => o.metadata?.labels?.[k] === v)) as ObjectOfKind[K][];
  }

  /** Keys of every EtcdCluster in the cache, for the periodic resync. */
  clusterKeys(): string[] {
    return [...this.informers.get('EtcdCluster')!.values()].flatMap((i) => i.store.list().map(keyOf));
  }

  hasSynced(): boolean {
    return this.all().every((i) => i.hasSynced());
  }

  /** Resolves once every informer has listed (never, if the API server stays unreachable). */
  async waitForSync(): Promise<void> {
    await Promise.all(this.all().map((i) => i.synced));
  }

  start(): void {
    for (const informer of this.all()) informer.start();
    this.named.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.all().map((i) => i.stop()), this.named.stop()]);
  }

  private all(): Informer<KubernetesObject>[] {
    return [...this.informers.values()].flatMap((m) => [...m.values()]);
  }

  private informerFor(kind: Kind, namespace: string): Informer<KubernetesObject> {
    const byScope = this.informers.get(kind)!;
    const informer = byScope.get('') ?? byScope.get(namespace);
    // A key from outside the watched namespaces can only come from a bug: say so loudly.
    if (!informer) throw new Error(`namespace ${namespace} is not watched`);
    return informer;
  }

  private informerOptions() {
    const { kc, log, clock, observer, backoff } = this.options;
    return { kc, log, clock, observer, backoff };
  }

  private makeInformer(kind: Kind, namespace: string): Informer<KubernetesObject> {
    const informer = new Informer<KubernetesObject>({
      ...this.informerOptions(),
      resource: watchedKinds[kind],
      namespace: namespace || undefined,
      labelSelector: kind === 'EtcdCluster' ? undefined : childLabelSelector,
    });
    const toKey = kind === 'EtcdCluster' ? keyOf : owningClusterKey;
    informer.on((change, obj) => {
      const key = toKey(obj);
      if (!key) return;
      // Why a pass ran: the event that queued it, for `--log-level=debug`.
      this.options.log.debug('event', { kind, change, object: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`, resourceVersion: obj.metadata?.resourceVersion, cluster: key });
      for (const listener of this.listeners) listener(key);
    });
    return informer;
  }
}
