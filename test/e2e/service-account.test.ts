import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installForLocalOperator } from '../harness/install.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The operator authenticates as its ServiceAccount with the namespace-mode RBAC from deploy/
// (a token, not the admin certificate) and still brings a cluster up, scales it and deletes it.
describe('operator as its ServiceAccount, namespace mode', () => {
  let env: E2eEnvironment;
  const ns = 'etcd-demo';
  const name = 'sa';

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-service-account');
    const { kubeconfig, args } = await installForLocalOperator(env.cp, 'namespaced');
    await env.startOperator(args, {}, kubeconfig);
  });
  afterAll(async () => env?.stop());

  it('brings a cluster up, scales it to 5 and back to 3, and deletes it', async () => {
    const manifest = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name, namespace: ns }, spec: { replicas: 3 } };
    const apply = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    expect(apply.code, apply.stderr).toBe(0);
    await env.waitConverged(ns, name, 3);
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=5');
    await env.waitConverged(ns, name, 5);
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=3');
    await env.waitConverged(ns, name, 3);
    await env.kubectl('delete', 'etcdcluster', name, '-n', ns, '--wait=true', '--timeout=120s');
    await env.waitFor('owned objects to be collected', async () => (await env.kubectl('get', 'statefulset,service,secret,configmap,pod', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'name')).trim() === '', { timeoutMs: 120_000 });
    const log = readFileSync(env.operator().process.logPath, 'utf8');
    expect(log).not.toMatch(/"statusCode":403|forbidden/i);
  });

  it('is refused what it must not do: Secrets outside its namespace', async () => {
    const kubeconfig = (await installForLocalOperator(env.cp, 'namespaced')).kubeconfig;
    const res = await env.cp.kubectl(['--kubeconfig', kubeconfig, 'get', 'secrets', '-n', 'default']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/forbidden/);
  });
});
