// `npm run demo`: the operator with a sample EtcdCluster on an embedded local control plane.
// Starts a private etcd, kube-apiserver and kube-controller-manager, installs the CRD, starts the
// operator, applies the sample and prints what to try next. Ctrl-C tears everything down.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kubeBinary, repoRoot } from '../test/harness/binaries.js';
import { startControlPlane } from '../test/harness/control-plane.js';
import { startProcess } from '../test/harness/process.js';

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
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/etcdclusters.etcd.operator.dev');

  const entry = join(repoRoot, 'src', 'main.ts');
  if (existsSync(entry)) {
    const operator = startProcess('operator', process.execPath, ['--import', 'tsx', entry, `--kubeconfig=${cp.kubeconfigPath}`], { logDir: cp.dir });
    console.log(`operator started (pid ${operator.pid}), logs: ${operator.logPath}`);
  }
  const sample = join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml');
  if (existsSync(sample)) await kubectl('apply', '-f', sample);

  const kc = `--kubeconfig=${cp.kubeconfigPath}`;
  console.log(`
control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s

  export KUBECONFIG=${cp.kubeconfigPath}
  alias kubectl=${kubeBinary('kubectl')}

try:
  kubectl ${kc} get etcdclusters -w
  kubectl ${kc} scale etcdcluster/example --replicas=5
  kubectl ${kc} get statefulsets,pods,services,secrets

logs and data: ${cp.dir}
Ctrl-C stops everything.`);

  // The harness stops every process and removes its directory on Ctrl-C (SIGINT) or SIGTERM.
  await new Promise(() => undefined);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
