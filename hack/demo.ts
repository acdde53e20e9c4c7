// `npm run demo`: the operator with a sample EtcdCluster on an embedded local cluster.
// Starts a private etcd, kube-apiserver and kube-controller-manager, the local node agent (which
// runs the member pods as real etcd processes), and the operator; applies the sample, waits until
// it is Available and prints what to try next. Ctrl-C tears everything down.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import type { EtcdCluster } from '../src/api/types.generated.js';
import { createLogger } from '../src/telemetry/logger.js';
import { startAgent } from '../test/agent/agent.js';
import { withClusterDns } from '../test/agent/fixtures.js';
import { etcdBinary, kubeBinary, repoRoot } from '../test/harness/binaries.js';
import { startControlPlane } from '../test/harness/control-plane.js';
import { startOperator } from '../test/harness/operator.js';
import { waitFor } from '../test/harness/wait.js';

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

async function main(): Promise<void> {
  const started = Date.now();
  console.log('starting the local control plane (etcd, kube-apiserver, kube-controller-manager)...');
  const cp = await startControlPlane('demo');
  const kubectl = async (...args: string[]) => {
    const res = await cp.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${res.stderr}`);
    return res.stdout;
  };
  await kubectl('apply', '--server-side', '-f', join(repoRoot, 'crds'));
  await cp.waitForCrd('etcdclusters.etcd.operator.dev');
  // The agent's own log is for debugging it; the demo shows only its warnings.
  const agent = await startAgent({ kubeConfig: cp.kubeConfig(), dir: join(cp.dir, 'agent'), log: createLogger('warn') });
  const operator = await startOperator('operator', cp.dir, cp.kubeconfigPath, ['--leader-elect=false']);
  console.log(`control plane, node agent and operator up in ${seconds(started)}`);

  const applied = Date.now();
  await kubectl('apply', '-f', join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'));
  const name = 'example';
  await waitFor('the sample to be Available', async () => {
    const c = JSON.parse(await kubectl('get', 'etcdcluster', name, '-o', 'json')) as EtcdCluster;
    return c.status?.conditions?.some((x) => x.type === 'Available' && x.status === 'True') && c.status.readyReplicas === c.spec.replicas;
  }, { timeoutMs: 180_000, intervalMs: 500 });
  console.log(`etcdcluster/${name} Available ${seconds(applied)} after kubectl apply`);

  // An etcdctl for the user: the client certificate, and member names resolved as inside the cluster.
  const secret = JSON.parse(await kubectl('get', 'secret', `${name}-client-tls`, '-o', 'json')) as V1Secret;
  for (const key of ['ca.crt', 'tls.crt', 'tls.key']) writeFileSync(join(cp.dir, `client-${key}`), Buffer.from(secret.data![key]!, 'base64'), { mode: 0o600 });
  const endpoints = [0, 1, 2].map((i) => `https://${name}-${i}.${name}-peer.default.svc.cluster.local:2379`).join(',');
  const argv = withClusterDns(agent.hostsFile, [etcdBinary('etcdctl'), `--cacert=${join(cp.dir, 'client-ca.crt')}`, `--cert=${join(cp.dir, 'client-tls.crt')}`, `--key=${join(cp.dir, 'client-tls.key')}`, `--endpoints=${endpoints}`]);
  const etcdctl = join(cp.dir, 'etcdctl');
  writeFileSync(etcdctl, `#!/bin/sh\nexec ${argv.map((a) => `'${a}'`).join(' ')} "$@"\n`);
  chmodSync(etcdctl, 0o755);

  const kc = `--kubeconfig=${cp.kubeconfigPath}`;
  const k = kubeBinary('kubectl');
  console.log(`
ready. Try:

  ${k} ${kc} get etcdclusters -w
  ${k} ${kc} scale etcdcluster/${name} --replicas=5
  ${k} ${kc} get statefulsets,pods,pvc,secrets
  ${etcdctl} member list -w table        # etcdctl with the user certificate
  ${etcdctl} put hello world && ${etcdctl} get hello
  curl -s ${operator.metricsUrl}         # the operator's metrics

  export KUBECONFIG=${cp.kubeconfigPath}
logs and data: ${cp.dir} (operator log: ${operator.process.logPath})
Ctrl-C stops everything.`);
  // The harness stops every process and removes its directory on Ctrl-C (SIGINT) or SIGTERM;
  // the agent's containers are its children and go with it.
  process.once('SIGINT', () => void agent.stop());
  await new Promise(() => undefined);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
