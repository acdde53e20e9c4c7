import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { RestartBackoff } from './backoff.js';
import { type Clock, pause, realClock } from './clock.js';
import { collectionPath, type ResourceType } from './kinds.js';
import { KubeApiError, type KubeStatus, kubeRequest, statusCodeOf, type WatchEvent, watchStream } from './kube-http.js';
import { Store, type StoreChange, cached } from './store.js';

export type InformerHandler<T> = (change: StoreChange, obj: T) => void;

/** What an informer reports, for metrics and tests. */
export interface InformerObserver {
  /** A list-watch failed and will be retried after `delayMs`. */
  failed?(resource: string, delayMs: number): void;
  /** A watch expired (410 Gone) and the informer lists again. */
  expired?(resource: string): void;
  listed?(resource: string): void;
}

export interface InformerOptions {
  kc: KubeConfig;
  resource: ResourceType;
  /** Undefined watches all namespaces. */
  namespace?: string;
  labelSelector?: string;
  /** `metadata.name=x`: one object by name (a Secret a cluster names but we do not own). */
  fieldSelector?: string;
  log: Logger;
  clock?: Clock;
  observer?: InformerObserver;
  backoff?: { baseMs: number; capMs: number; resetAfterMs: number };
  /** Objects per list page (default 500, as client-go's pager). */
  pageSize?: number;
  /**
   * The `resource` label of this informer's metrics, when it must not name the object: one watch
   * per user CA Secret would otherwise make one series per Secret. Logs keep the full name.
   */
  metricLabel?: string;
}

/**
 * List, then watch from the list's resource version, forever. Unlike client-node's informer it
 * never gives up: any error restarts the watch after a capped backoff, and 410 Gone (the version
 * was compacted away) lists afresh. The store is what the reconciler reads.
 */
export class Informer<T extends KubernetesObject> {
  readonly store = new Store<T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly clock: Clock;
  private readonly backoff: RestartBackoff;
  private readonly stopper = new AbortController();
  private readonly name: string;
  private resourceVersion = '';
  private isSynced = false;
  private markSynced: () => void = () => undefined;
  /** Resolves when the first list has filled the store. */
  readonly synced = new Promise<void>((resolve) => (this.markSynced = resolve));
  private running: Promise<void> | undefined;

  constructor(private readonly options: InformerOptions) {
    this.clock = options.clock ?? realClock;
    this.backoff = new RestartBackoff(options.backoff ?? { baseMs: 500, capMs: 30_000, resetAfterMs: 60_000 });
    this.name = `${options.resource.plural}${options.namespace ? `/${options.namespace}` : ''}${options.fieldSelector ? `?${options.fieldSelector}` : ''}`;
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  /** True once the first list has filled the store; stays true across restarts. */
  hasSynced(): boolean {
    return this.isSynced;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopper.signal.aborted) {
      const startedAt = this.clock.now();
      try {
        if (!this.resourceVersion) await this.list();
        await this.watch();
        // The server ended the watch at its timeout: a healthy run, watch again at once.
        this.backoff.reset();
      } catch (err) {
        if (this.stopper.signal.aborted) break;
        await this.recover(err, startedAt);
      }
    }
  }

  private async recover(err: unknown, startedAt: number): Promise<void> {
    if (statusCodeOf(err) === 410) {
      this.options.log.info('watch expired, listing again', { resource: this.name, resourceVersion: this.resourceVersion });
      this.resourceVersion = '';
      this.options.observer?.expired?.(this.options.metricLabel ?? this.name);
      return;
    }
    const delayMs = this.backoff.next(startedAt, this.clock.now());
    this.options.log.warn('list-watch failed, retrying', { resource: this.name, error: String(err), statusCode: statusCodeOf(err), delayMs });
    this.options.observer?.failed?.(this.options.metricLabel ?? this.name, delayMs);
    await pause(this.clock, delayMs, this.stopper.signal);
  }

  private query(extra: Record<string, string>): string {
    const params = new URLSearchParams(extra);
    if (this.options.labelSelector) params.set('labelSelector', this.options.labelSelector);
    if (this.options.fieldSelector) params.set('fieldSelector', this.options.fieldSelector);
    return `${collectionPath(this.options.resource, this.options.namespace)}?${params.toString()}`;
  }

  private async list(): Promise<void> {
    const items: T[] = [];
    let continueToken = '';
    let resourceVersion = '';
    do {
      const page = await kubeRequest<KubernetesListObject<T>>(
        this.options.kc,
        this.query({ limit: String(this.options.pageSize ?? 500), ...(continueToken ? { continue: continueToken } : {}) }),
        { signal: this.stopper.signal },
      );
      // Items of a list carry no apiVersion and kind (watch events do): without them a listed
      // object never equals the applied one, and a template compare would see a change forever.
      const kind = page.kind?.replace(/List$/, '');
      items.push(...page.items.map((item) => cached({ apiVersion: page.apiVersion, kind, ...item })));
      // The wire name is `continue`; `_continue` is only client-node's name for it in its models,
      // and reading that one kept the first 500 objects of a kind and dropped the rest.
      continueToken = (page.metadata as { continue?: string } | undefined)?.continue ?? '';
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (continueToken);
    for (const { change, obj } of this.store.replace(items)) this.emit(change, obj);
    this.resourceVersion = resourceVersion;
    this.isSynced = true;
    this.markSynced();
    this.options.observer?.listed?.(this.options.metricLabel ?? this.name);
  }

  private async watch(): Promise<void> {
    // Spread timeouts (5-10 minutes, as client-go does) so many watches do not end together.
    const timeoutSeconds = String(300 + Math.floor(Math.random() * 300));
    const path = this.query({ watch: '1', resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds });
    await watchStream(this.options.kc, path, (event) => this.apply(event), this.stopper.signal);
  }

  private apply(event: WatchEvent): void {
    if (event.type === 'ERROR') {
      const status = event.object as KubeStatus;
      throw new KubeApiError(status.code ?? 500, status.reason, status.message ?? 'watch error event');
    }
    const obj = cached(event.object as T);
    if (event.type === 'DELETED') {
      if (this.store.remove(obj)) this.emit('delete', obj);
    } else if (event.type !== 'BOOKMARK') {
      const change = this.store.upsert(obj);
      if (change) this.emit(change, obj);
    }
    this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
  }

  private emit(change: StoreChange, obj: T): void {
    for (const handler of this.handlers) handler(change, obj);
  }
}
