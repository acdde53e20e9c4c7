import type { Logger } from 'winston';
import type { InformerCache } from './cache.js';
import { type Clock, realClock, whenAborted } from './clock.js';
import type { Controller } from './controller.js';
import type { LeaderElector } from './leader-election.js';

/** A controller with informers of its own (EtcdBackup), run beside the root kind's. */
export interface SecondaryController {
  readonly name: string;
  startInformers(): void;
  waitForSync(): Promise<void>;
  start(): void;
  resync(): void;
  stop(graceMs: number): Promise<void>;
  halt(reason: string): void;
  stopInformers(): Promise<void>;
}

export interface ManagerOptions {
  cache: InformerCache;
  /** The controller of the root kind; the only consumer of cache events. */
  controller: Controller;
  /** Started, stopped and halted with it, in the same order. */
  secondary?: SecondaryController[];
  /** Absent when leader election is off: this process then reconciles as soon as it synced. */
  elector?: LeaderElector;
  /** How often every cached EtcdCluster is queued again, to repair drift that raised no event. */
  resyncPeriodMs: number;
  /** How long passes in flight may run on after shutdown begins before they are abandoned. */
  shutdownTimeoutMs: number;
  log: Logger;
  clock?: Clock;
}

/**
 * Runs the pieces in the order controller-runtime does: informers at once (followers keep a warm
 * cache), workers only while leading and after the cache synced, and on shutdown: drain, then
 * stop renewing, release the lease, stop the informers.
 */
export class Manager {
  private readonly clock: Clock;
  private readonly stopAcquiring = new AbortController();
  private readonly stopLeading = new AbortController();
  private running: Promise<'stopped' | 'lost'> | undefined;
  private cancelResync = () => {};

  constructor(private readonly options: ManagerOptions) {
    this.clock = options.clock ?? realClock;
  }

  /** Resolves 'lost' when leadership was lost (workers already halted), 'stopped' after shutdown. */
  run(): Promise<'stopped' | 'lost'> {
    this.running ??= this.lead();
    return this.running;
  }

  async shutdown(): Promise<void> {
    const { controller, elector, cache, log } = this.options;
    this.stopAcquiring.abort();
    this.cancelResync();
    const secondary = this.options.secondary ?? [];
    const [drained] = await Promise.all([controller.stop(this.options.shutdownTimeoutMs), ...secondary.map((c) => c.stop(this.options.shutdownTimeoutMs))]);
    log.info('workers stopped', { outcome: drained });
    this.stopLeading.abort();
    await this.running;
    await elector?.release();
    await Promise.all([cache.stop(), ...secondary.map((c) => c.stopInformers())]);
  }

  private async lead(): Promise<'stopped' | 'lost'> {
    const { cache, controller, elector, log } = this.options;
    const secondary = this.options.secondary ?? [];
    cache.onClusterEvent((key) => controller.enqueue(key));
    cache.start();
    for (const c of secondary) c.startInformers();
    if (elector && !(await elector.acquire(this.stopAcquiring.signal))) return 'stopped';
    await Promise.race([Promise.all([cache.waitForSync(), ...secondary.map((c) => c.waitForSync())]), whenAborted(this.stopAcquiring.signal)]);
    if (this.stopAcquiring.signal.aborted) return 'stopped';
    log.info('caches synced, starting workers', { controller: controller.name, secondary: secondary.map((c) => c.name) });
    controller.start();
    for (const c of secondary) c.start();
    this.scheduleResync();
    if (!elector) {
      await whenAborted(this.stopLeading.signal);
      return 'stopped';
    }
    const outcome = await elector.holdUntilLost(this.stopLeading.signal);
    if (outcome === 'lost') {
      this.cancelResync();
      controller.halt('leadership lost');
      for (const c of secondary) c.halt('leadership lost');
    }
    return outcome;
  }

  private scheduleResync(): void {
    this.cancelResync = this.clock.schedule(this.options.resyncPeriodMs, () => {
      for (const key of this.options.cache.clusterKeys()) this.options.controller.enqueue(key, 'background');
      for (const c of this.options.secondary ?? []) c.resync();
      this.scheduleResync();
    });
  }
}
