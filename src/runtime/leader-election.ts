import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { type Clock, pause, realClock } from './clock.js';
import { kubeRequest, statusCodeOf } from './kube-http.js';
import { claimedSpec, type Lease, mayAcquire, recordKey, releasedSpec } from './lease.js';
import { LeadershipLostError } from './pass-scope.js';

export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  /** How long others wait for a silent holder before taking over (client-go: 15s). */
  leaseDurationMs: number;
  /** How long the holder keeps trying to renew before it gives up leading (client-go: 10s). */
  renewDeadlineMs: number;
  /** Time between attempts to take or renew the lease (client-go: 2s). */
  retryPeriodMs: number;
  log: Logger;
  clock?: Clock;
  onLeading?(leading: boolean): void;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it. Writes are guarded by
 * resourceVersion, so of two candidates racing for a lease exactly one write wins (409 for the
 * other). The holder must renew within renewDeadline, which is shorter than leaseDuration: it
 * stops leading before anyone else may start.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private observed = '';
  private observedAt = 0;
  private leading = false;
  /** Until when no other candidate can have taken the lease: last renewal's start + renew deadline. */
  private validUntil = 0;

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? realClock;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Throws unless the lease is certainly still ours at this instant. Others may take it only a
   * lease duration after they saw our last renewal, which began after `validUntil - renewDeadline`;
   * the renew deadline is shorter, so this holds with no clock shared between processes. It reads
   * the clock, not a flag, so a process that was stalled (paused, swapped, stopped) and resumes
   * mid-pass is refused at its first write, before its renew loop has even run.
   */
  fence(): void {
    if (!this.leading) throw new LeadershipLostError(`write refused: not the leader of ${this.leaseName()}`);
    const late = this.clock.now() - this.validUntil;
    if (late >= 0) throw new LeadershipLostError(`write refused: the lease ${this.leaseName()} was last renewed too long ago (${Math.round(late)} ms past its renew deadline)`);
  }

  /** Resolves once this process holds the lease, or with false if `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.options.log.info('waiting for the lease', { lease: this.leaseName(), identity: this.options.identity });
    while (!signal.aborted) {
      const attemptStart = this.clock.now();
      if (await this.tryAcquireOrRenew(signal)) {
        this.validUntil = attemptStart + this.options.renewDeadlineMs;
        this.setLeading(true);
        return true;
      }
      await this.sleep(this.options.retryPeriodMs, signal);
    }
    return false;
  }

  /**
   * Renews every retry period; resolves when a renewal could not be completed within the renew
   * deadline (leadership lost) or when `signal` aborts (shutdown; the caller then releases).
   */
  async holdUntilLost(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    let renewedAt = this.clock.now();
    while (!signal.aborted) {
      await this.sleep(this.options.retryPeriodMs, signal);
      if (signal.aborted) break;
      const remaining = renewedAt + this.options.renewDeadlineMs - this.clock.now();
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, Math.ceil(remaining)))]);
      const attemptStart = this.clock.now();
      if (await this.tryAcquireOrRenew(attempt)) {
        renewedAt = this.clock.now();
        this.validUntil = attemptStart + this.options.renewDeadlineMs;
      } else if (this.clock.now() - renewedAt >= this.options.renewDeadlineMs) {
        this.options.log.error('could not renew the lease within the renew deadline; leadership lost', { lease: this.leaseName() });
        this.setLeading(false);
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Clears the holder so a successor takes over at once; only if we still hold it. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.setLeading(false);
    const lease = await this.get(AbortSignal.timeout(this.options.renewDeadlineMs));
    if (lease?.spec?.holderIdentity !== this.options.identity) return;
    await kubeRequest(this.options.kc, this.path(), {
      method: 'PUT',
      body: { ...lease, spec: releasedSpec(lease.spec, new Date()) },
      signal: AbortSignal.timeout(this.options.renewDeadlineMs),
    });
    this.options.log.info('lease released', { lease: this.leaseName() });
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { identity, leaseDurationMs } = this.options;
    try {
      const lease = await this.get(signal);
      if (!lease) return await this.create(signal);
      const now = this.clock.now();
      if (recordKey(lease.spec) !== this.observed) {
        this.observed = recordKey(lease.spec);
        this.observedAt = now;
      }
      if (!mayAcquire(lease.spec, identity, this.observedAt, now, leaseDurationMs)) return false;
      const spec = claimedSpec(lease.spec, identity, leaseDurationMs, new Date());
      await kubeRequest(this.options.kc, this.path(), { method: 'PUT', body: { ...lease, spec }, signal });
      const previous = lease.spec?.holderIdentity;
      if (previous !== identity) {
        // Whether the predecessor let go or was waited out tells a clean handover from a crash.
        this.options.log.info('lease acquired', { lease: this.leaseName(), previousHolder: previous ?? '', takeover: previous ? 'expired' : 'released' });
      }
      this.observed = recordKey(spec);
      this.observedAt = this.clock.now();
      return true;
    } catch (err) {
      // 409: another candidate wrote first. Anything else: the API server is unreachable or
      // refuses us; both mean "not renewed this time" and are retried on the next period.
      if (statusCodeOf(err) !== 409) this.options.log.warn('lease update failed', { lease: this.leaseName(), error: String(err), statusCode: statusCodeOf(err) });
      return false;
    }
  }

  private async get(signal: AbortSignal): Promise<Lease | undefined> {
    try {
      return await kubeRequest<Lease>(this.options.kc, this.path(), { signal });
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  private async create(signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.options;
    const spec = claimedSpec(undefined, identity, leaseDurationMs, new Date());
    const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec };
    await kubeRequest(this.options.kc, this.path(true), { method: 'POST', body, signal });
    this.observed = recordKey(spec);
    this.observedAt = this.clock.now();
    return true;
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (leading) this.options.log.info('became leader', { lease: this.leaseName(), identity: this.options.identity });
    this.options.onLeading?.(leading);
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return pause(this.clock, ms, signal);
  }

  private leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  private path(collection = false): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
    return collection ? base : `${base}/${encodeURIComponent(this.options.name)}`;
  }
}
