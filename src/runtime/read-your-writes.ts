/**
 * When the informer cache may answer for an object instead of a live GET. The cache lags the API
 * server by one watch event; for most reads that only delays a pass, but a Secret the operator
 * has just written and a pass then sees as absent would be generated again (a second CA, new
 * keys) and overwrite the first. So the writer notes its own writes, and a read goes live only
 * while the cache is behind one of them: a quiet pass, with nothing written lately, reads nothing.
 *
 * What this cannot see (an object someone else created or relabelled so that our label selector
 * drops it) is the caller's to confirm live before acting on an absence: see certificates.ts.
 */

/** What the operator last did to an object, with the resourceVersion the API server answered. */
export type OwnWrite = { op: 'wrote'; resourceVersion: string } | { op: 'deleted'; resourceVersion?: string };

/**
 * `cache`: the cache's answer (present or absent) is at least as new as our last write of the
 * object; `live`: it may not be, read the object from the API server.
 */
export function cacheVerdict(input: { synced: boolean; cachedVersion: string | undefined; own: OwnWrite | undefined }): 'cache' | 'live' {
  const { synced, cachedVersion, own } = input;
  if (!synced) return 'live';
  if (!own) return 'cache';
  if (own.op === 'wrote') return cachedVersion !== undefined && compareVersions(cachedVersion, own.resourceVersion) >= 0 ? 'cache' : 'live';
  // Deleted by us: the cache is current once the object is gone from it, or replaced by a newer one.
  if (cachedVersion === undefined) return 'cache';
  return own.resourceVersion !== undefined && compareVersions(cachedVersion, own.resourceVersion) > 0 ? 'cache' : 'live';
}

/**
 * resourceVersions are opaque to clients in principle; every API server backed by etcd hands out
 * etcd revisions, which only grow, and client-go's own caches compare them as numbers. A version
 * that is not a number compares only for equality (NaN: not comparable, so never "newer").
 */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return Number.NaN;
  const [x, y] = [BigInt(a), BigInt(b)];
  return x > y ? 1 : x < y ? -1 : 0;
}

/**
 * The operator's own writes that the cache may not have seen yet, by kind/namespace/name. An entry
 * is dropped as soon as the cache is seen to hold it; the limit only bounds entries of objects no
 * pass reads again (a cluster deleted right after a write), oldest first.
 */
export class RecentWrites {
  private readonly entries = new Map<string, OwnWrite>();

  constructor(private readonly limit = 10_000) {}

  wrote(kind: string, namespace: string, name: string, resourceVersion: string | undefined): void {
    // A write whose version we did not learn compares with nothing: reads go live until a live
    // read and the cache agree (see `settled`).
    this.set(kind, namespace, name, { op: 'wrote', resourceVersion: resourceVersion ?? '' });
  }

  deleted(kind: string, namespace: string, name: string, resourceVersion?: string): void {
    this.set(kind, namespace, name, { op: 'deleted', ...(resourceVersion ? { resourceVersion } : {}) });
  }

  /** The rule above for one read; forgets the write once the cache holds it. */
  verdict(kind: string, namespace: string, name: string, synced: boolean, cachedVersion: string | undefined): 'cache' | 'live' {
    const key = keyOf(kind, namespace, name);
    const own = this.entries.get(key);
    const verdict = cacheVerdict({ synced, cachedVersion, own });
    if (own && verdict === 'cache') this.entries.delete(key);
    return verdict;
  }

  /** After a live read: when it and the cache agree, the cache has caught up, whatever we wrote. */
  settled(kind: string, namespace: string, name: string, liveVersion: string | undefined, cachedVersion: string | undefined): void {
    if (liveVersion === cachedVersion) this.entries.delete(keyOf(kind, namespace, name));
  }

  get size(): number {
    return this.entries.size;
  }

  private set(kind: string, namespace: string, name: string, own: OwnWrite): void {
    const key = keyOf(kind, namespace, name);
    this.entries.delete(key);
    this.entries.set(key, own);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
  }
}

const keyOf = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
