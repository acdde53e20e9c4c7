import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Informer } from './informer.js';
import { NamedWatches } from './named-watches.js';
import { Store } from './store.js';

/** Enough of an Informer: a store, handlers, started/stopped flags. */
class FakeInformer {
  readonly store = new Store<KubernetesObject>();
  readonly handlers: (() => void)[] = [];
  started = false;
  stopped = false;
  synced = false;
  on(h: () => void) {
    this.handlers.push(h);
  }
  hasSynced() {
    return this.synced;
  }
  start() {
    this.started = true;
  }
  stop() {
    this.stopped = true;
    return Promise.resolve();
  }
}

function setup() {
  const made = new Map<string, FakeInformer>();
  const notified: string[] = [];
  const watches = new NamedWatches<KubernetesObject>((ns, name) => {
    const f = new FakeInformer();
    made.set(`${ns}/${name}`, f);
    return f as unknown as Informer<KubernetesObject>;
  }, (key) => notified.push(key));
  return { made, notified, watches };
}

describe('NamedWatches: one watch per named Secret, shared, stopped with its last user', () => {
  it('starts one watch per name, shared by the clusters naming it, and queues them on its events', () => {
    const { made, notified, watches } = setup();
    watches.start();
    expect(watches.get('db/a', 'db', 'user-ca')).toEqual({ synced: false, object: undefined });
    watches.get('db/b', 'db', 'user-ca');
    expect(watches.watched()).toEqual(['db/user-ca']);
    const informer = made.get('db/user-ca')!;
    expect(informer.started).toBe(true);
    informer.synced = true;
    informer.store.upsert({ metadata: { namespace: 'db', name: 'user-ca', resourceVersion: '3' } });
    for (const h of informer.handlers) h();
    expect(notified.sort()).toEqual(['db/a', 'db/b']);
    expect(watches.get('db/a', 'db', 'user-ca').object?.metadata?.resourceVersion).toBe('3');
  });

  it('stops a watch when the last cluster naming it lets go or names another', () => {
    const { made, watches } = setup();
    watches.get('db/a', 'db', 'ca-1');
    watches.get('db/b', 'db', 'ca-1');
    watches.get('db/a', 'db', 'ca-2');
    expect(watches.watched().sort()).toEqual(['db/ca-1', 'db/ca-2']);
    watches.release('db/b');
    expect(made.get('db/ca-1')!.stopped).toBe(true);
    expect(watches.watched()).toEqual(['db/ca-2']);
    watches.release('db/a');
    watches.release('db/a');
    expect(watches.watched()).toEqual([]);
  });

  it('starts watches made before start() when started', () => {
    const { made, watches } = setup();
    watches.get('db/a', 'db', 'ca');
    expect(made.get('db/ca')!.started).toBe(false);
    watches.start();
    expect(made.get('db/ca')!.started).toBe(true);
  });
});
