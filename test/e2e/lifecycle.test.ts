import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/binaries.js';
import type { Checker, CheckerReport } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The whole product: the real kubectl applies an EtcdCluster, the operator runs it as pods that
// the local agent runs as real etcd processes with mutual TLS, and a client writes and reads
// throughout. No acknowledged write may be lost; no read may be stale.
describe('EtcdCluster lifecycle end to end', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'example';

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-lifecycle');
    await env.startOperator();
  });
  afterAll(async () => env?.stop());

  it('brings 3 members up Ready with TLS after kubectl apply', async () => {
    const started = Date.now();
    const apply = await env.cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8') });
    expect(apply.code, apply.stderr).toBe(0);
    const cluster = await env.waitConverged(ns, name, 3);
    console.log(`apply -> 3/3 Ready: ${Date.now() - started} ms`);
    expect(cluster.status!.leader).toMatch(/^example-[0-2]$/);
    expect(cluster.status!.clusterID).toMatch(/^[0-9a-f]+$/);
    checker = await env.checker(ns, name);
    checker.start();
  });
});

export type { CheckerReport };
