import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { BackupController } from './backup/controller.js';
import { type Config, loadConfig } from './config.js';
import { controllerName, createEtcdClusterReconciler } from './controller/index.js';
import { keyPool } from './pki/x509.js';
import { InformerCache } from './runtime/cache.js';
import { Controller } from './runtime/controller.js';
import { LeaderElector } from './runtime/leader-election.js';
import { Manager } from './runtime/manager.js';
import { serve } from './telemetry/http-server.js';
import { createLogger } from './telemetry/logger.js';
import { ClusterMetrics } from './telemetry/cluster-metrics.js';
import { OperatorMetrics } from './telemetry/metrics.js';
import { UpkeepMetrics } from './upkeep/metrics.js';

function kubeConfig(config: Config): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

function leaderElector(config: Config, kc: KubeConfig, log: Logger, metrics: OperatorMetrics): LeaderElector | undefined {
  if (!config.leaderElect) return undefined;
  const lease = config.leaderElectionId;
  metrics.leaderStatus(lease, false);
  return new LeaderElector({
    kc,
    log,
    namespace: config.leaderElectionNamespace,
    name: lease,
    identity: config.leaderElectionIdentity,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    onLeading: (leading) => metrics.leaderStatus(lease, leading),
  });
}

/** Longer than any pass can take while its calls keep their deadlines. */
const stuckPassMs = 5 * 60_000;

async function main(): Promise<number> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const log = createLogger(config.logLevel);
  const kc = kubeConfig(config);
  const metrics = new OperatorMetrics();
  const cache = new InformerCache({ kc, namespaces: config.namespaces, log, observer: metrics.informerObserver() });
  const elector = leaderElector(config, kc, log, metrics);
  const controller: Controller = new Controller({
    name: controllerName,
    reconciler: createEtcdClusterReconciler({ cache, kc, clusterDomain: config.clusterDomain, memberInitImage: config.memberInitImage, learnerTimeoutMs: config.learnerTimeoutMs, metrics: new ClusterMetrics(metrics.registry), backups: (ns) => backups.list(ns), upkeepMetrics: new UpkeepMetrics(metrics.registry) }),
    workers: config.workers,
    log,
    queueObserver: metrics.queueObserver(controllerName, () => controller.queue),
    observer: metrics.controllerObserver(controllerName),
    fence: elector ? () => elector.fence() : undefined,
  });
  const backups = new BackupController({
    kc,
    cache,
    namespaces: config.namespaces,
    log,
    clusterDomain: config.clusterDomain,
    informerObserver: metrics.informerObserver(),
    queueObserver: (name, queue) => metrics.queueObserver(name, queue),
    observer: (name) => metrics.controllerObserver(name),
    registry: metrics.registry,
    fence: elector ? () => elector.fence() : undefined,
    enqueueCluster: (key) => controller.enqueue(key),
  });
  const manager = new Manager({
    cache,
    controller,
    secondary: [backups],
    elector,
    resyncPeriodMs: config.resyncPeriodMs,
    shutdownTimeoutMs: config.gracefulShutdownTimeoutMs,
    log,
  });
  const ok = { status: 200, body: 'ok\n' };
  const probes = await serve('health', config.healthProbeBindAddress, {
    // Every call a pass makes has a deadline, so a pass running this long is hung: let the kubelet restart us.
    '/healthz': () => (controller.oldestPassMs() > stuckPassMs ? { status: 500, body: `a pass has run for ${Math.round(controller.oldestPassMs() / 1000)}s\n` } : ok),
    '/readyz': () => (cache.hasSynced() && backups.hasSynced() ? ok : { status: 503, body: 'informers not synced\n' }),
  }, log);
  const metricsServer = await serve('metrics', config.metricsBindAddress, {
    '/metrics': async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType }),
  }, log);
  log.info('starting', { namespaces: config.namespaces.length ? config.namespaces : 'all', leaderElect: config.leaderElect, identity: config.leaderElectionIdentity, workers: config.workers });

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string) => {
    log.info('shutting down', { why });
    stopping ??= manager.shutdown();
    return stopping;
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  // Two new clusters' keys (a CA and four leaves each) ready before they are applied: key
  // generation leaves the path to the first pod (see src/pki/key-pool.ts). Refills start 2 s after
  // the last take, when the pods of the cluster that took them have started.
  keyPool.start({ size: 10, refillDelayMs: 2_000 });
  const outcome = await manager.run();
  // Lost leadership: exit non-zero, as controller-runtime does, and let the restart make this
  // process a fresh candidate rather than resume with state from its time as leader.
  if (outcome === 'lost') await shutdown('leadership lost');
  else await stopping;
  await Promise.all([probes.close(), metricsServer.close()]);
  log.info('stopped', { outcome });
  return outcome === 'lost' ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(JSON.stringify({ level: 'error', message: 'operator failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
    process.exit(1);
  },
);
