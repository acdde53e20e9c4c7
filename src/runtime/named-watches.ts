import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from './informer.js';

/** A named object as its watch holds it; `synced` false until its first list answered. */
export interface NamedView<T> {
  synced: boolean;
  object: T | undefined;
}

/**
 * Objects a cluster names in its spec without owning them (a user's CA Secret) carry none of our
 * labels, so the child informers never see them, and reading them live costs a request per pass.
 * Each gets a watch of its own, by name: shared by the clusters that name it, its events queue
 * them (a changed CA is seen at once, not at the next resync), and it stops when the last lets go.
 */
export class NamedWatches<T extends KubernetesObject> {
  private readonly watches = new Map<string, { informer: Informer<T>; clusters: Set<string> }>();
  /** What each cluster names now, so that naming another releases the old one. */
  private readonly named = new Map<string, string>();
  private running = false;

  constructor(
    private readonly make: (namespace: string, name: string) => Informer<T>,
    private readonly notify: (clusterKey: string) => void,
  ) {}

  /** The object `clusterKey` names, from its watch; the first call for a name starts the watch. */
  get(clusterKey: string, namespace: string, name: string): NamedView<T> {
    const id = `${namespace}/${name}`;
    if (this.named.get(clusterKey) !== id) {
      this.release(clusterKey);
      this.named.set(clusterKey, id);
    }
    let watch = this.watches.get(id);
    if (!watch) {
      const informer = this.make(namespace, name);
      const clusters = new Set<string>();
      informer.on(() => {
        for (const key of clusters) this.notify(key);
      });
      watch = { informer, clusters };
      this.watches.set(id, watch);
      if (this.running) informer.start();
    }
    watch.clusters.add(clusterKey);
    return { synced: watch.informer.hasSynced(), object: watch.informer.store.get(namespace, name) };
  }

  /** The cluster names nothing any more (deleted, or its spec changed). */
  release(clusterKey: string): void {
    const id = this.named.get(clusterKey);
    if (id === undefined) return;
    this.named.delete(clusterKey);
    const watch = this.watches.get(id);
    watch?.clusters.delete(clusterKey);
    if (watch && watch.clusters.size === 0) {
      this.watches.delete(id);
      void watch.informer.stop();
    }
  }

  /** Names watched now, for tests. */
  watched(): string[] {
    return [...this.watches.keys()];
  }

  start(): void {
    this.running = true;
    for (const { informer } of this.watches.values()) informer.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.watches.values()].map((w) => w.informer.stop()));
  }
}
