import type { KubernetesObject } from '@kubernetes/client-node';

export type StoreChange = 'add' | 'update' | 'delete';

/**
 * The object as the cache keeps it: without metadata.managedFields, which nothing here reads and
 * which is often as large as the rest of the object (a field list per writer: the operator, the
 * kubelet, the controllers). As client-go's TransformStripManagedFields; at 200 clusters the cache
 * holds some 2,000 objects.
 */
export function cached<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const metadata = { ...obj.metadata };
  delete metadata.managedFields;
  return { ...obj, metadata };
}

/** Objects of one kind by namespace and name, as the last list and watch events left them. */
export class Store<T extends KubernetesObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();

  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    return [...this.byNamespace.values()].flatMap((m) => [...m.values()]);
  }

  /** Stores `obj`; returns what changed, or undefined when the same version was already held. */
  upsert(obj: T): StoreChange | undefined {
    const { namespace, name } = refOf(obj);
    let names = this.byNamespace.get(namespace);
    if (!names) this.byNamespace.set(namespace, (names = new Map<string, T>()));
    const old = names.get(name);
    names.set(name, obj);
    if (!old) return 'add';
    return old.metadata?.resourceVersion === obj.metadata?.resourceVersion ? undefined : 'update';
  }

  remove(obj: T): T | undefined {
    const { namespace, name } = refOf(obj);
    const names = this.byNamespace.get(namespace);
    const old = names?.get(name);
    names?.delete(name);
    if (names?.size === 0) this.byNamespace.delete(namespace);
    return old;
  }

  /** Replaces the content with a fresh list; returns the changes a watcher would have seen. */
  replace(items: T[]): { change: StoreChange; obj: T }[] {
    const changes: { change: StoreChange; obj: T }[] = [];
    const fresh = new Set(items.map((o) => storeKey(o)));
    for (const old of this.list()) {
      if (!fresh.has(storeKey(old))) {
        this.remove(old);
        changes.push({ change: 'delete', obj: old });
      }
    }
    for (const obj of items) {
      const change = this.upsert(obj);
      if (change) changes.push({ change, obj });
    }
    return changes;
  }
}

function refOf(obj: KubernetesObject): { namespace: string; name: string } {
  return { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
}

function storeKey(obj: KubernetesObject): string {
  const { namespace, name } = refOf(obj);
  return `${namespace}/${name}`;
}
