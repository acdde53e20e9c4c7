import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { clientServiceHosts, memberSelector, selectorString } from '../../src/resources/names.js';
import { type Agent, startAgent } from '../agent/agent.js';
import { withClusterDns } from '../agent/fixtures.js';
import { etcdBinary, repoRoot } from '../harness/binaries.js';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from '../harness/control-plane.js';
import { type OperatorProcess, startOperator } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { apiGet, apiPathOf } from './api-get.js';
import { Checker } from './checker.js';

/** The whole product on one machine: control plane, node agent, and the operator as a process. */
export interface E2eEnvironment {
  cp: ControlPlane;
  agent: Agent;
  operator(): OperatorProcess;
  /** Starts the operator (again), with its listeners on free loopback ports. */
  startOperator(extraArgs?: string[], env?: NodeJS.ProcessEnv, kubeconfig?: string): Promise<OperatorProcess>;
  kubectl(...args: string[]): Promise<string>;
  cluster(namespace: string, name: string): Promise<EtcdCluster>;
  /** Applies an EtcdCluster (default: 3 members) with the real kubectl and waits until it converged. */
  createCluster(namespace: string, name: string, spec?: Partial<EtcdCluster['spec']>): Promise<EtcdCluster>;
  /** Waits until etcd reports `voters` healthy voting members, no learner, and status says so. */
  waitConverged(namespace: string, name: string, voters: number, timeoutMs?: number): Promise<EtcdCluster>;
  /**
   * Loses members with their volumes: deletes their PVCs and pods at once, and waits until the
   * StatefulSet has recreated every pod (on an empty volume).
   */
  loseMembers(namespace: string, members: string[]): Promise<void>;
  /** Reasons of the Events on EtcdClusters in a namespace, oldest first. */
  eventReasons(namespace: string): Promise<string[]>;
  waitFor: typeof waitFor;
  /**
   * The real etcdctl with the user certificate, run as a pod's neighbour would (cluster DNS),
   * against the members the status lists unless `endpoints` are given.
   */
  etcdctl(namespace: string, name: string, args: string[], endpoints?: string[]): Promise<string>;
  /** A write/read checker against the cluster's Ready members, with the user certificate. */
  checker(namespace: string, name: string, options?: { reloadTls?: boolean }): Promise<Checker>;
  stop(): Promise<void>;
}

export async function startE2eEnvironment(label: string, options: ControlPlaneOptions = {}): Promise<E2eEnvironment> {
  const cp = await startControlPlane(label, options);
  const kc = cp.kubeConfig();
  const kubectl = async (...args: string[]) => {
    const path = apiPathOf(args);
    if (path) return apiGet(kc, path, args);
    const res = await cp.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  };
  await kubectl('apply', '--server-side', '-f', join(repoRoot, 'crds'));
  await cp.waitForCrd('etcdclusters.etcd.operator.dev');
  const agent = await startAgent({ kubeConfig: cp.kubeConfig(), dir: join(cp.dir, 'agent') });
  let operator: OperatorProcess | undefined;
  let operators = 0;
  const env: E2eEnvironment = {
    cp,
    agent,
    operator: () => {
      if (!operator) throw new Error('the operator is not running');
      return operator;
    },
    async startOperator(extraArgs = [], processEnv = {}, kubeconfig = cp.kubeconfigPath) {
      // Later flags win, so extraArgs may turn leader election back on. The compiled build, as the
      // image runs it (test:e2e builds dist/, which the member pods' start guard runs too): tsx
      // cost about 1.9 s more CPU per start (4.8 against 2.9 s, measured under load), and the
      // end-to-end files start an operator some 80 times on 2 cores.
      operator = await startOperator(`operator-${operators++}`, cp.dir, kubeconfig, ['--leader-elect=false', '--log-level=debug', ...extraArgs], processEnv, { entry: 'dist' });
      return operator;
    },
    kubectl,
    async cluster(namespace, name) {
      return JSON.parse(await kubectl('get', 'etcdcluster', name, '-n', namespace, '-o', 'json')) as EtcdCluster;
    },
    async createCluster(namespace, name, spec = {}) {
      const manifest = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name, namespace }, spec: { replicas: 3, ...spec } };
      const apply = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
      if (apply.code !== 0) throw new Error(`kubectl apply ${namespace}/${name}: ${apply.stderr}`);
      return env.waitConverged(namespace, name, manifest.spec.replicas);
    },
    async waitConverged(namespace, name, voters, timeoutMs = 240_000) {
      return waitFor(`${namespace}/${name} at ${voters} healthy voters`, async () => {
        const c = await env.cluster(namespace, name);
        const s = c.status;
        const members = s?.members ?? [];
        const sts = JSON.parse(await kubectl('get', 'statefulset', name, '-n', namespace, '-o', 'json')) as { spec: { replicas: number } };
        const ok =
          s?.observedGeneration === c.metadata.generation &&
          members.length === voters &&
          members.every((m) => m.role === 'Voter' && m.healthy) &&
          s!.readyReplicas === voters &&
          sts.spec.replicas === voters &&
          s!.conditions?.some((x) => x.type === 'Available' && x.status === 'True') &&
          s!.conditions?.some((x) => x.type === 'Progressing' && x.status === 'False');
        return ok ? c : undefined;
      }, { timeoutMs, intervalMs: 500 });
    },
    async loseMembers(namespace, members) {
      // A pod's UID, or none while it is gone or still terminating.
      const uid = async (m: string) => {
        const meta = (JSON.parse(await kubectl('get', 'pod', m, '-n', namespace, '-o', 'json')) as V1Pod).metadata;
        return meta?.deletionTimestamp ? undefined : meta?.uid;
      };
      const oldUids = await Promise.all(members.map(uid));
      await kubectl('delete', 'pvc', ...members.map((m) => `data-${m}`), '-n', namespace, '--wait=false');
      await kubectl('delete', 'pod', ...members, '-n', namespace, '--wait=false');
      await waitFor(`${members.join(', ')} recreated`, async () => {
        const uids = await Promise.all(members.map((m) => uid(m).catch(() => undefined)));
        return uids.every((u, i) => u !== undefined && u !== oldUids[i]);
      }, { timeoutMs: 120_000, intervalMs: 250 });
    },
    async eventReasons(namespace) {
      const out = await kubectl('get', 'events', '-n', namespace, '--field-selector', 'involvedObject.kind=EtcdCluster', '--sort-by=.lastTimestamp', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}');
      return out.trim().split('\n').filter(Boolean);
    },
    waitFor,
    async etcdctl(namespace, name, args, only) {
      const dir = join(cp.dir, `etcdctl-${namespace}-${name}`);
      mkdirSync(dir, { recursive: true });
      const secret = JSON.parse(await kubectl('get', 'secret', `${name}-client-tls`, '-n', namespace, '-o', 'json')) as V1Secret;
      for (const key of ['ca.crt', 'tls.crt', 'tls.key']) writeFileSync(join(dir, key), Buffer.from(secret.data![key]!, 'base64'), { mode: 0o600 });
      // The members' advertised client URLs; the agent's cluster DNS has no ClusterIP Services.
      const endpoints = only ?? ((await env.cluster(namespace, name)).status?.members ?? []).flatMap((m) => m.clientURLs ?? []);
      const tlsArgs = [`--cacert=${join(dir, 'ca.crt')}`, `--cert=${join(dir, 'tls.crt')}`, `--key=${join(dir, 'tls.key')}`, `--endpoints=${endpoints.join(',')}`];
      const argv = withClusterDns(agent.hostsFile, [etcdBinary('etcdctl'), ...tlsArgs, ...args]);
      return new Promise((resolve, reject) => {
        execFile(argv[0]!, argv.slice(1), { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`etcdctl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
      });
    },
    async checker(namespace, name, options = {}) {
      const tlsSource = async () => {
        const secret = JSON.parse(await kubectl('get', 'secret', `${name}-client-tls`, '-n', namespace, '-o', 'json')) as V1Secret;
        const pem = (k: string) => Buffer.from(secret.data![k]!, 'base64').toString('utf8');
        return { caPem: pem('ca.crt'), certPem: pem('tls.crt'), keyPem: pem('tls.key') };
      };
      const selector = selectorString(memberSelector({ name, namespace }));
      return new Checker({
        tls: await tlsSource(),
        // Reloads the client Secret, as an application with the Secret mounted does.
        ...(options.reloadTls ? { tlsSource } : {}),
        serverName: clientServiceHosts({ name, namespace }).at(-1)!,
        endpoints: async () => {
          const pods = JSON.parse(await kubectl('get', 'pods', '-n', namespace, '-l', selector, '-o', 'json')) as { items: V1Pod[] };
          return pods.items
            .filter((p) => p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
            .map((p) => `https://${p.status!.podIP}:2379`);
        },
      });
    },
    async stop() {
      await operator?.process.stop();
      await agent.stop();
      await cp.stop();
    },
  };
  return env;
}
