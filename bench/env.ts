// The end-to-end environment of test/e2e, plus what measuring needs: the API server's audit log,
// and the operator under its own user so the log tells its requests apart. Readiness is polled
// through the API (not by spawning kubectl), so the polling itself costs little CPU.
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { EtcdCluster } from '../src/api/types.generated.js';
import { createLogger } from '../src/telemetry/logger.js';
import { type Agent, startAgent } from '../test/agent/agent.js';
import { repoRoot } from '../test/harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../test/harness/control-plane.js';
import { type OperatorLaunch, type OperatorProcess, startOperator } from '../test/harness/operator.js';
import { makeHarnessDir, removeHarnessDir } from '../test/harness/process.js';
import { writeUserKubeconfig } from '../test/harness/user-kubeconfig.js';
import { waitFor } from '../test/harness/wait.js';
import { AuditLog, auditArgs, writeAuditPolicy } from '../test/harness/audit.js';

export const operatorUser = 'etcd-operator-bench';
export const group = { group: 'etcd.operator.dev', version: 'v1alpha1', plural: 'etcdclusters' };

export interface BenchEnvironment {
  cp: ControlPlane;
  agent: Agent;
  audit: AuditLog;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  operator(): OperatorProcess;
  /** `entry: 'dist'` runs the compiled build (npm run build first); the default runs the source through tsx. */
  startOperator(extraArgs?: string[], launch?: OperatorLaunch): Promise<OperatorProcess>;
  stopOperator(): Promise<void>;
  /** The real kubectl as the administrator; throws on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<string>;
  cluster(namespace: string, name: string): Promise<EtcdCluster>;
  /** One look: etcd has `voters` healthy voters and no learner, and status and StatefulSet agree. */
  converged(namespace: string, name: string, voters: number): Promise<boolean>;
  waitConverged(namespace: string, name: string, voters: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function isConverged(c: EtcdCluster, stsReplicas: number | undefined, voters: number): boolean {
  const s = c.status;
  const members = s?.members ?? [];
  const condition = (type: string, status: string) => s?.conditions?.some((x) => x.type === type && x.status === status) ?? false;
  return (
    s?.observedGeneration === c.metadata.generation &&
    members.length === voters &&
    members.every((m) => m.role === 'Voter' && m.healthy) &&
    s?.readyReplicas === voters &&
    stsReplicas === voters &&
    condition('Available', 'True') &&
    condition('Progressing', 'False')
  );
}

/** `agentLog`: the agent's logger (default: warnings only), for a trace of its container starts. */
export async function startBenchEnvironment(label: string, options: { agentLog?: Logger } = {}): Promise<BenchEnvironment> {
  const dir = makeHarnessDir(`${label}-audit`);
  const audit = new AuditLog(join(dir, 'audit.log'));
  const cp = await startControlPlane(label, { extraApiServerArgs: auditArgs(writeAuditPolicy(dir, operatorUser), audit.path) });
  const kubectl = async (args: string[], input?: string) => {
    const res = await cp.kubectl(args, input === undefined ? {} : { input });
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  };
  let agent: Agent | undefined;
  let operator: OperatorProcess | undefined;
  try {
    await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    await cp.waitForCrd('etcdclusters.etcd.operator.dev');
    // Warnings only: its info lines would drown the bench's progress.
    agent = await startAgent({ kubeConfig: cp.kubeConfig(), dir: join(cp.dir, 'agent'), log: options.agentLog ?? createLogger('warn') });
  } catch (err) {
    await cp.stop();
    throw err;
  }
  const kubeconfig = await writeUserKubeconfig(cp, dir, operatorUser);
  const kc = cp.kubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  let started = 0;
  const env: BenchEnvironment = {
    cp,
    agent,
    audit,
    core: kc.makeApiClient(CoreV1Api),
    apps,
    custom,
    operator: () => {
      if (!operator) throw new Error('the operator is not running');
      return operator;
    },
    async startOperator(extraArgs = [], launch = {}) {
      // Info-level logs, as in production; the e2e tests log at debug.
      operator = await startOperator(`bench-operator-${started++}`, cp.dir, kubeconfig, ['--leader-elect=false', ...extraArgs], {}, launch);
      await waitFor('operator ready', async () => (await fetch(`${operator!.healthUrl}/readyz`)).status === 200, { process: operator.process, timeoutMs: 60_000 });
      return operator;
    },
    async stopOperator() {
      await operator?.process.stop();
      operator = undefined;
    },
    kubectl,
    async cluster(namespace, name) {
      return (await custom.getNamespacedCustomObject({ ...group, namespace, name })) as EtcdCluster;
    },
    async converged(namespace, name, voters) {
      const [c, sts] = await Promise.all([env.cluster(namespace, name), apps.readNamespacedStatefulSet({ name, namespace }).catch(() => undefined)]);
      return isConverged(c, sts?.spec?.replicas, voters);
    },
    async waitConverged(namespace, name, voters, timeoutMs = 240_000) {
      await waitFor(`${namespace}/${name} at ${voters} healthy voters`, () => env.converged(namespace, name, voters), { timeoutMs, intervalMs: 100 });
    },
    async stop() {
      await operator?.process.stop();
      await agent?.stop();
      await cp.stop();
      removeHarnessDir(dir);
    },
  };
  return env;
}

/** An EtcdCluster manifest as a user would apply it. */
export function etcdCluster(namespace: string, name: string, replicas: number, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: `${group.group}/${group.version}`, kind: 'EtcdCluster', metadata: { name, namespace }, spec: { replicas, ...spec } });
}
