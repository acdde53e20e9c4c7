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

  it('reads and writes with the user certificate through the real etcdctl', async () => {
    const out = await env.etcdctl(ns, name, ['put', 'hello', 'world']);
    expect(out.trim()).toBe('OK');
    expect(await env.etcdctl(ns, name, ['get', 'hello', '--print-value-only'])).toBe('world\n');
  });

  it('scales to 5 with kubectl scale, one learner at a time', async () => {
    const started = Date.now();
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=5');
    await env.waitConverged(ns, name, 5);
    console.log(`scale 3 -> 5: ${Date.now() - started} ms`);
    const events = await env.kubectl('get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=EtcdCluster', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}');
    const reasons = events.trim().split('\n');
    expect(reasons.filter((r) => r === 'MemberAdded')).toHaveLength(2);
    expect(reasons.filter((r) => r === 'MemberPromoted')).toHaveLength(2);
  });

  it('scales back to 3, removing members before shrinking the StatefulSet', async () => {
    const started = Date.now();
    await env.kubectl('scale', 'etcdcluster', name, '-n', ns, '--replicas=3');
    const cluster = await env.waitConverged(ns, name, 3);
    console.log(`scale 5 -> 3: ${Date.now() - started} ms`);
    expect(cluster.status!.members!.map((m) => m.name).sort()).toEqual(['example-0', 'example-1', 'example-2']);
  });
});

export type { CheckerReport };
