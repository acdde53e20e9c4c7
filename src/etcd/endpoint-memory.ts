import { EtcdAdminError } from './errors.js';
import type { EndpointProbe, EndpointStatus } from './types.js';

/** A member that let a call run out its deadline, and when to look at it again. */
interface Silent {
  /** The error of the last call it let time out: what status reports while it stays silent. */
  error: EtcdAdminError;
  nextProbeAt: number;
  backoffMs: number;
  probing: boolean;
}

export interface EndpointMemoryOptions {
  now?: () => number;
  /** First pause between background probes of a silent endpoint; doubles up to `maxProbeMs`. */
  firstProbeMs?: number;
  maxProbeMs?: number;
}

/**
 * What a cluster's etcd client remembers of each member endpoint across passes. A member that
 * refuses a connection costs nothing, so it is simply asked again; a member that lets a call run
 * out its deadline (a stopped process, a node gone while its address still routes) would cost
 * every pass that deadline again. Such a member is not waited on: passes report it with its last
 * error at once, and a probe runs beside them, at most one at a time and with growing pauses,
 * until one answers; from then on passes ask it again.
 */
export class EndpointMemory {
  private readonly silent = new Map<string, Silent>();
  private readonly now: () => number;
  private readonly firstProbeMs: number;
  private readonly maxProbeMs: number;

  constructor(options: EndpointMemoryOptions = {}) {
    this.now = options.now ?? Date.now;
    // Short pauses: a probe is one Status call in flight at a time, nothing for a hung member, and a
    // member that answers again (resumed, or a learner that serves its client port once it has
    // joined) is seen within about a second, not after a pause that had grown to 10 s.
    this.firstProbeMs = options.firstProbeMs ?? 250;
    this.maxProbeMs = options.maxProbeMs ?? 1_000;
  }

  /** The last error of an endpoint that is not waited on, or undefined when it is asked. */
  silenced(endpoint: string): EtcdAdminError | undefined {
    return this.silent.get(endpoint)?.error;
  }

  /** Runs one call to one endpoint and remembers how it went. */
  async track<T>(endpoint: string, call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.silent.delete(endpoint);
      return result;
    } catch (err) {
      if (err instanceof EtcdAdminError && err.kind === 'DeadlineExceeded') this.timedOut(endpoint, err);
      else this.silent.delete(endpoint);
      throw err;
    }
  }

  /** Starts `probe` of a silent endpoint unless one runs or its pause has not passed; never waits. */
  probeInBackground(endpoint: string, probe: () => Promise<unknown>): void {
    const entry = this.silent.get(endpoint);
    if (!entry || entry.probing || this.now() < entry.nextProbeAt) return;
    entry.probing = true;
    // Its outcome is recorded by `track` inside the probe; nothing waits for it.
    void probe()
      .catch(() => undefined)
      .finally(() => {
        const current = this.silent.get(endpoint);
        if (current) current.probing = false;
      });
  }

  /** Forgets endpoints no longer in the cluster (a pod gone, an address reused). */
  retain(endpoints: readonly string[]): void {
    for (const endpoint of [...this.silent.keys()]) if (!endpoints.includes(endpoint)) this.silent.delete(endpoint);
  }

  private timedOut(endpoint: string, error: EtcdAdminError): void {
    const previous = this.silent.get(endpoint);
    const backoffMs = previous ? Math.min(previous.backoffMs * 2, this.maxProbeMs) : this.firstProbeMs;
    this.silent.set(endpoint, { error, backoffMs, nextProbeAt: this.now() + backoffMs, probing: previous?.probing ?? false });
  }
}

/**
 * Status of every endpoint at once. An endpoint the memory holds silent answers at once with its
 * last error (and is probed beside the pass when due), so no pass waits on it twice.
 */
export function probeAll(endpoints: readonly string[], memory: EndpointMemory, status: (endpoint: string) => Promise<EndpointStatus>): Promise<EndpointProbe[]> {
  return Promise.all(
    endpoints.map(async (endpoint): Promise<EndpointProbe> => {
      const silenced = memory.silenced(endpoint);
      if (silenced) {
        memory.probeInBackground(endpoint, () => status(endpoint));
        return { endpoint, error: silenced };
      }
      try {
        return { endpoint, status: await status(endpoint) };
      } catch (err) {
        return { endpoint, error: err instanceof EtcdAdminError ? err : new EtcdAdminError({ kind: 'Unknown', op: 'status', endpoint, detail: String(err), cause: err }) };
      }
    }),
  );
}
