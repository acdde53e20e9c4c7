import client from 'prom-client';
import type { ControllerObserver } from '../runtime/controller.js';
import type { InformerObserver } from '../runtime/informer.js';
import type { WorkQueue, QueueObserver } from '../runtime/workqueue.js';

// Buckets of controller-runtime's reconcile and client-go's workqueue histograms.
const reconcileBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60];
const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];

/**
 * The metrics of the operator, under the names controller-runtime and client-go use so that
 * existing dashboards and alerts work unchanged.
 */
export class OperatorMetrics {
  readonly registry = new client.Registry();
  private readonly c = {
    reconcileTotal: this.counter('controller_runtime_reconcile_total', 'Total number of reconciliations per controller', ['controller', 'result']),
    reconcileErrors: this.counter('controller_runtime_reconcile_errors_total', 'Total number of reconciliation errors per controller', ['controller']),
    terminalErrors: this.counter('controller_runtime_terminal_reconcile_errors_total', 'Total number of terminal reconciliation errors per controller', ['controller']),
    reconcileTime: new client.Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets: reconcileBuckets, registers: [this.registry] }),
    maxWorkers: this.gauge('controller_runtime_max_concurrent_reconciles', 'Maximum number of concurrent reconciles per controller', ['controller']),
    activeWorkers: this.gauge('controller_runtime_active_workers', 'Number of currently used workers per controller', ['controller']),
    depth: this.gauge('workqueue_depth', 'Current depth of workqueue', ['name', 'controller']),
    adds: this.counter('workqueue_adds_total', 'Total number of adds handled by workqueue', ['name', 'controller']),
    retries: this.counter('workqueue_retries_total', 'Total number of retries handled by workqueue', ['name', 'controller']),
    queueDuration: new client.Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['name', 'controller'], buckets: queueBuckets, registers: [this.registry] }),
    workDuration: new client.Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes', labelNames: ['name', 'controller'], buckets: queueBuckets, registers: [this.registry] }),
    leader: this.gauge('leader_election_master_status', 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master', ['name']),
    informerFailures: this.counter('etcd_operator_informer_restarts_total', 'List-watch failures after which an informer restarted with backoff', ['resource']),
    watchExpired: this.counter('etcd_operator_informer_watch_expired_total', 'Watches that expired (410 Gone) and were followed by a fresh list', ['resource']),
    lists: this.counter('etcd_operator_informer_lists_total', 'Full lists made by informers', ['resource']),
  };
  private readonly queues: { labels: { name: string; controller: string }; queue: () => WorkQueue | undefined }[] = [];

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
    // Computed at scrape time from the passes in flight, as client-go does on its own ticker.
    new client.Gauge({ name: 'workqueue_unfinished_work_seconds', help: 'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration', labelNames: ['name', 'controller'], registers: [this.registry], collect: this.collectInFlight((ages) => ages.reduce((a, b) => a + b, 0)) });
    new client.Gauge({ name: 'workqueue_longest_running_processor_seconds', help: 'How many seconds has the longest running processor for workqueue been running', labelNames: ['name', 'controller'], registers: [this.registry], collect: this.collectInFlight((ages) => Math.max(0, ...ages)) });
  }

  /** Hooks for a controller's queue; `queue` is read at scrape time for the in-flight gauges. */
  queueObserver(controller: string, queue: () => WorkQueue | undefined): QueueObserver {
    const labels = { name: controller, controller };
    this.queues.push({ labels, queue });
    this.c.adds.inc(labels, 0);
    this.c.retries.inc(labels, 0);
    return {
      added: () => this.c.adds.inc(labels),
      depth: (n) => this.c.depth.set(labels, n),
      waited: (s) => this.c.queueDuration.observe(labels, s),
      worked: (s) => this.c.workDuration.observe(labels, s),
      retried: () => this.c.retries.inc(labels),
    };
  }

  controllerObserver(controller: string): ControllerObserver {
    for (const result of ['success', 'error', 'requeue_after']) this.c.reconcileTotal.inc({ controller, result }, 0);
    this.c.reconcileErrors.inc({ controller }, 0);
    this.c.terminalErrors.inc({ controller }, 0);
    this.c.activeWorkers.set({ controller }, 0);
    return {
      workers: (n) => this.c.maxWorkers.set({ controller }, n),
      active: (delta) => this.c.activeWorkers.inc({ controller }, delta),
      passed: (result, seconds, terminal) => {
        this.c.reconcileTotal.inc({ controller, result });
        this.c.reconcileTime.observe({ controller }, seconds);
        if (result === 'error') this.c.reconcileErrors.inc({ controller });
        if (terminal) this.c.terminalErrors.inc({ controller });
      },
    };
  }

  informerObserver(): InformerObserver {
    return {
      failed: (resource) => this.c.informerFailures.inc({ resource }),
      expired: (resource) => this.c.watchExpired.inc({ resource }),
      listed: (resource) => this.c.lists.inc({ resource }),
    };
  }

  leaderStatus(lease: string, leading: boolean): void {
    this.c.leader.set({ name: lease }, leading ? 1 : 0);
  }

  private collectInFlight(reduce: (ages: number[]) => number) {
    const queues = this.queues;
    return function (this: client.Gauge) {
      for (const { labels, queue } of queues) {
        const now = performance.timeOrigin + performance.now();
        const ages = (queue()?.inFlightSince() ?? []).map((t) => (now - t) / 1000);
        this.set(labels, reduce(ages));
      }
    };
  }

  private counter(name: string, help: string, labelNames: string[]) {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: string[]) {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
