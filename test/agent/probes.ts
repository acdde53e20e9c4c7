import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';

type Probe = Wire<V1Probe>;
type Container = Wire<V1Container>;

export interface ProbeResult {
  ok: boolean;
  message: string;
}

function portOf(port: number | string | undefined, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(ip: string, port: number, probe: Probe): Promise<ProbeResult> {
  const get = probe.httpGet!;
  const headers = Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value]));
  const url = `http://${ip}:${port}${get.path ?? '/'}`;
  return new Promise((resolve) => {
    const req = request(url, { timeout: (probe.timeoutSeconds ?? 1) * 1000, headers: { 'User-Agent': 'kube-probe/1.34', ...headers } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ ok: code >= 200 && code < 400, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.once('timeout', () => req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')));
    req.once('error', (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
    req.end();
  });
}

function tcpProbe(ip: string, port: number, probe: Probe): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port, timeout: (probe.timeoutSeconds ?? 1) * 1000 });
    socket.once('connect', () => (socket.destroy(), resolve({ ok: true, message: '' })));
    socket.once('timeout', () => socket.destroy(new Error('timeout')));
    socket.once('error', (err) => resolve({ ok: false, message: `dial tcp ${ip}:${port}: ${err.message}` }));
  });
}

/** One probe attempt against the pod's address (httpGet and tcpSocket; exec and gRPC are not supported). */
export function runProbe(ip: string, probe: Probe, c: Container): Promise<ProbeResult> {
  const handler = probe.httpGet ?? probe.tcpSocket;
  const port = portOf(handler?.port, c);
  if (!handler || port === undefined) return Promise.resolve({ ok: false, message: 'the local agent runs httpGet and tcpSocket probes only' });
  return probe.httpGet ? httpProbe(ip, port, probe) : tcpProbe(ip, port, probe);
}

export interface ProbeEvents {
  started(): void;
  readiness(ready: boolean): void;
  /** The startup or liveness probe failed failureThreshold times: the container must restart. */
  failed(kind: 'Startup' | 'Liveness', message: string): void;
  /** A probe crossed its failure threshold (for an Unhealthy event). */
  unhealthy(kind: 'Startup' | 'Liveness' | 'Readiness', message: string): void;
}

/**
 * The kubelet's probe workers for one container run: startup first (liveness and readiness wait
 * for it), then liveness and readiness each on its own period with its own thresholds.
 *
 * Timing, as kubernetes pkg/kubelet/prober/worker.go runs it: each worker probes on a
 * `time.NewTicker(periodSeconds)`, so probes start a fixed period apart whatever each one took
 * (a probe slower than the period is followed by the next at once: the ticker keeps one tick, drops
 * the rest); and readiness is probed at once when the startup probe succeeds
 * (prober_manager.go UpdatePodStatus: "Trigger an immediate run of the readinessProbe"), then on
 * its own ticker. Two differences, neither faster than a kubelet: the kubelet's worker ticks from
 * the pod's admission, so its first probe of a (re)started container comes 0 to 1 period after the
 * start, where this agent probes at the start (refused: nothing listens yet) and then one period
 * later, the kubelet's latest case; and the kubelet sees a container exit on its next PLEG relist
 * (every 1 s), where this agent restarts it at once.
 */
export class ContainerProbes {
  private readonly stopper = new AbortController();

  constructor(
    private readonly ip: string,
    private readonly c: Container,
    private readonly events: ProbeEvents,
  ) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopper.abort();
  }

  private async run(): Promise<void> {
    if (this.c.startupProbe && !(await this.loop('Startup', this.c.startupProbe))) return;
    this.events.started();
    if (!this.c.readinessProbe) this.events.readiness(true);
    else void this.loop('Readiness', this.c.readinessProbe);
    if (this.c.livenessProbe) void this.loop('Liveness', this.c.livenessProbe);
  }

  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.stopper.signal });
      return true;
    } catch (err) {
      if (this.stopper.signal.aborted) return false;
      throw err;
    }
  }

  /** Probes until stopped; for Startup, resolves true on success and false when it gives up. */
  private async loop(kind: 'Startup' | 'Liveness' | 'Readiness', probe: Probe): Promise<boolean> {
    let successes = 0;
    let failures = 0;
    if (!(await this.pause((probe.initialDelaySeconds ?? 0) * 1000))) return false;
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    let tick = performance.now();
    for (;;) {
      const result = await runProbe(this.ip, probe, this.c);
      if (this.stopper.signal.aborted) return false;
      successes = result.ok ? successes + 1 : 0;
      failures = result.ok ? 0 : failures + 1;
      if (kind === 'Startup' && result.ok) return true;
      if (kind === 'Readiness' && successes === (probe.successThreshold ?? 1)) this.events.readiness(true);
      if (failures === (probe.failureThreshold ?? 3)) {
        this.events.unhealthy(kind, result.message);
        if (kind === 'Readiness') this.events.readiness(false);
        else return (this.events.failed(kind, result.message), false);
      }
      // The ticker's next tick; one that passed during a slow probe was kept: probe again at once.
      const now = performance.now();
      const passed = Math.floor((now - tick) / periodMs);
      tick += Math.max(1, passed) * periodMs;
      if (!(await this.pause(Math.max(0, tick - now)))) return false;
    }
  }
}
