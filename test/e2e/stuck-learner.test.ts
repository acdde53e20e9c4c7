import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// A scale-up whose new member can never start must not freeze the cluster: lowering
// spec.replicas cancels it, and a deadline removes it and adds it again later.
//
// How only the new pod is made unable to start: one patch sets spec.replicas and an image the
// agent cannot pull. The StatefulSet uses OnDelete updates, so the running members keep their
// pods (and the image they run); only a pod created after the patch, the new member's, gets the
// unpullable template. The planner restarts outdated members only once membership matches the
// spec, never while a learner is pending or an add waits to be retried, so the old members are
// not restarted onto the bad image. Reverting spec.image in the same patch that scales back gives
// the StatefulSet its earlier template, whose revision the running pods still carry.
describe('a learner that cannot start', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'stuck';
  let version = '';
  let voters: Record<string, string> = {};

  const pods = async () => {
    const out = await env.kubectl('get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}{"\\n"}{end}');
    return Object.fromEntries(out.trim().split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
  };
  const memberIds = (c: EtcdCluster) => Object.fromEntries((c.status?.members ?? []).map((m) => [m.name, m.memberID]));
  const condition = (c: EtcdCluster, type: string) => c.status?.conditions?.find((x) => x.type === type);
  const waitingReason = (pod: string) => env.kubectl('get', 'pod', pod, '-n', ns, '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.reason}').catch(() => '');
  const badImage = () => `registry.invalid/etcd/etcd:v${version}`;

  /** Scales up with an image no new pod can pull; waits until the learner is added and its pod is stuck. */
  async function scaleUpStuck(): Promise<number> {
    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 5, image: badImage() } }));
    await env.waitFor('stuck-3 added as a learner, its pod unable to pull', async () => {
      const c = await env.cluster(ns, name);
      const learner = c.status?.members?.find((m) => m.name === 'stuck-3');
      return learner?.role === 'Learner' && /ImagePull|ErrImagePull/.test(await waitingReason('stuck-3'));
    }, { timeoutMs: 120_000, intervalMs: 500 });
    return Date.now() - started;
  }

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-stuck-learner');
    await env.startOperator();
    const cluster = await env.createCluster(ns, name);
    version = cluster.spec.version;
    voters = memberIds(cluster);
    checker = await env.checker(ns, name);
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('scaling back down removes the learner that never started, then shrinks the StatefulSet', async () => {
    const podsBefore = await pods();
    console.log(`scale 3 -> 5 with an unpullable image, learner stuck after ${await scaleUpStuck()} ms`);
    // Stuck, not progressing by itself: the status says which learner it waits for, and until when.
    await new Promise((r) => setTimeout(r, 5_000));
    const stuck = await env.cluster(ns, name);
    expect(stuck.status!.members!.filter((m) => m.role === 'Learner').map((m) => m.name)).toEqual(['stuck-3']);
    expect.soft(condition(stuck, 'Progressing')?.message).toMatch(/^waiting for learner stuck-3 \([0-9a-f]+\) to start: added at .+, removed if not ready by /);

    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3, image: null } }));
    const cluster = await env.waitConverged(ns, name, 3);
    console.log(`scale back 5 -> 3 with a stuck learner: converged in ${Date.now() - started} ms`);
    // No member lost or replaced, no running pod restarted: the same IDs, the same pods.
    expect(memberIds(cluster)).toEqual(voters);
    await env.waitFor('stuck-3 gone, the other pods untouched', async () => JSON.stringify(await pods()) === JSON.stringify(podsBefore), { timeoutMs: 60_000 });
    const reasons = await env.eventReasons(ns);
    expect(reasons).toContain('LearnerRemoved');
    expect(reasons).not.toContain('MemberRestarted');
    expect(condition(cluster, 'Degraded')?.status).toBe('False');
  });

  it('a learner stuck past --learner-timeout is removed, with a Warning, and added again only after the retry wait', async () => {
    await scaleUpStuck();
    // The deadline counts from the time recorded when the learner was added, not from this
    // process's start: a restarted operator with a shorter timeout acts on the record.
    await env.operator().process.stop();
    await env.startOperator(['--learner-timeout=15s']);
    const started = Date.now();
    type Retry = { memberId: string; addedAt: string; why: string; failures: number; retryAt: string };
    const retry = await env.waitFor('the learner removed for its deadline', async () => {
      const c = await env.cluster(ns, name);
      const degraded = condition(c, 'Degraded');
      if (degraded?.reason !== 'LearnerTimedOut' || c.status?.members?.some((m) => m.name === 'stuck-3')) return undefined;
      const cm = JSON.parse(await env.kubectl('get', 'configmap', `${name}-membership`, '-n', ns, '-o', 'json')) as { data: Record<string, string> };
      return JSON.parse(cm.data['learner-retry']!) as Retry;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    console.log(`timeout: learner removed ${Date.now() - started} ms after the operator restart; retry record ${JSON.stringify(retry)}`);
    expect(retry).toMatchObject({ why: 'notStarted', failures: 1 });
    const warning = await env.kubectl('get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=EtcdCluster,reason=LearnerTimedOut,type=Warning', '-o', 'jsonpath={.items[0].message}');
    expect(warning).toMatch(/^learner stuck-3 \([0-9a-f]+\), added at .+, had not started by its deadline: removed, adding again after /);
    const status = await env.cluster(ns, name);
    expect(condition(status, 'Progressing')).toMatchObject({ status: 'True', reason: 'LearnerRetryBackoff' });

    // The fix arrives during the wait: the retried add gets a pod with the fixed template.
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { image: null } }));
    const cluster = await env.waitConverged(ns, name, 5, 300_000);
    console.log(`timeout -> retried -> 5 voters: ${Date.now() - started} ms after the operator restart`);
    // The retried add waited for its recorded time (the API server keeps event times to the second).
    const adds = await env.kubectl('get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=EtcdCluster,reason=MemberAdded', '-o', 'jsonpath={range .items[*]}{.lastTimestamp} {.message}{"\\n"}{end}');
    console.log(`MemberAdded events:\n${adds}`);
    const again = adds.trim().split('\n').find((l) => l.includes('again, after 1 timeout'));
    expect(again, adds).toBeDefined();
    expect(Date.parse(again!.split(' ')[0]!)).toBeGreaterThanOrEqual(Date.parse(retry.retryAt) - 1_000);
    const ids = memberIds(cluster);
    for (const [member, id] of Object.entries(voters)) expect(ids[member]).toBe(id);
    expect(condition(cluster, 'Degraded')?.status).toBe('False');
    const cm = JSON.parse(await env.kubectl('get', 'configmap', `${name}-membership`, '-n', ns, '-o', 'json')) as { data: Record<string, string> };
    expect(Object.keys(cm.data)).not.toContain('learner-retry');
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    await expectNoLoss(checker);
  });
});
