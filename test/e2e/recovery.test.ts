import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// Quorum-loss recovery with the user's consent (issue 16): two of three members lost with their
// volumes while a checker writes; nothing happens until the user consents naming the cluster's
// UID; then the survivor runs once with --force-new-cluster and the cluster grows back to three.
describe('consented recovery from the surviving member', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'rec';
  let uid = '';

  const cluster = (): Promise<EtcdCluster> => env.cluster(ns, name);
  const condition = (c: EtcdCluster, type: string) => c.status?.conditions?.find((k) => k.type === type);
  const consent = (recovery: unknown) => env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { recovery } }));
  const statefulSetUid = async () => (JSON.parse(await env.kubectl('get', 'statefulset', name, '-n', ns, '-o', 'json')) as { metadata: { uid: string } }).metadata.uid;

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-recovery');
    await env.startOperator();
    uid = (await env.createCluster(ns, name)).metadata.uid!;
    checker = await env.checker(ns, name);
    checker.start();
    await env.waitFor('the checker writing', () => checker.acknowledgedSoFar() > 20, { timeoutMs: 30_000 });
  });
  afterAll(async () => env?.stop());

  it('a consent given while the quorum is healthy is ignored for good, and forgotten once removed', async () => {
    const sts = await statefulSetUid();
    await consent({ clusterUID: uid, fromSurvivor: {} });
    const ignored = await env.waitFor('status.recovery Ignored', async () => {
      const c = await cluster();
      return c.status?.recovery?.phase === 'Ignored' ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(ignored.status!.recovery!.consent).toEqual({ clusterUID: uid, fromSurvivor: {} });
    expect(await env.eventReasons(ns)).toContain('RecoveryConsentIgnored');
    expect(await statefulSetUid()).toBe(sts);
    await consent(null);
    await env.waitFor('the record to forget the consent', async () => (await cluster()).status?.recovery?.consent === undefined, { timeoutMs: 30_000 });
    // The highest revision seen while healthy is latched, for what a recovery would lose.
    await env.waitFor('status.lastRevision', async () => ((await cluster()).status?.lastRevision?.revision ?? 0) > 0, { timeoutMs: 60_000 });
  });

  it('two of three lost with their volumes: QuorumLost, and the status says what survives and what each option loses', async () => {
    const lost = [`${name}-0`, `${name}-1`];
    await env.loseMembers(ns, lost);
    const report = await env.waitFor('status.quorumRecovery naming the survivor', async () => {
      const c = await cluster();
      return condition(c, 'Available')?.reason === 'QuorumLost' && c.status?.quorumRecovery?.survivors?.some((s) => s.name === `${name}-2` && (s.revision ?? 0) > 0) ? c : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const q = report.status!.quorumRecovery!;
    console.log(`quorumRecovery: ${JSON.stringify(q)}`);
    expect(q.options?.[0]).toMatchObject({ source: 'Survivor', name: `${name}-2` });
    expect(q.referenceRevision).toBeGreaterThanOrEqual(q.survivors![0]!.revision!);
    // No write is acknowledged without a quorum.
    const acked = checker.acknowledgedSoFar();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(checker.acknowledgedSoFar()).toBe(acked);
  });

  it('a consent naming another UID is refused: Degraded, a Warning, nothing done', async () => {
    const sts = await statefulSetUid();
    await consent({ clusterUID: '00000000-0000-4000-8000-000000000000', fromSurvivor: {} });
    await env.waitFor('Degraded RecoveryRefused', async () => (await cluster()).status?.conditions?.some((k) => k.type === 'Degraded' && k.message.includes('is not this EtcdCluster')), { timeoutMs: 30_000 });
    expect(await env.eventReasons(ns)).toContain('RecoveryRefused');
    await new Promise((r) => setTimeout(r, 3_000));
    const c = await cluster();
    expect(c.status?.recovery?.phase).not.toBe('Stopping');
    expect(await statefulSetUid()).toBe(sts);
    expect(condition(c, 'Available')?.status).toBe('False');
  });

  it('with consent: Available again from the survivor, then 3/3 through learners, no acknowledged write lost', async () => {
    const acked = checker.acknowledgedSoFar();
    const started = Date.now();
    await consent({ clusterUID: uid, fromSurvivor: {} });
    await env.waitFor('Available again', async () => condition(await cluster(), 'Available')?.status === 'True', { timeoutMs: 180_000, intervalMs: 250 });
    const toAvailable = Date.now() - started;
    const c = await env.waitConverged(ns, name, 3, 300_000);
    console.log(`consent -> Available: ${toAvailable} ms; consent -> 3/3 voters: ${Date.now() - started} ms; recovery: ${JSON.stringify(c.status?.recovery)}`);
    expect(c.status!.recovery).toMatchObject({ phase: 'Succeeded', member: `${name}-2` });
    const reasons = await env.eventReasons(ns);
    for (const r of ['RecoveryStarted', 'LostVolumesDeleted', 'ForceNewCluster', 'ForceNewClusterAnswered', 'Recovered']) expect(reasons).toContain(r);
    // The --force-new-cluster pod is gone and the members run from the StatefulSet.
    await env.waitFor('the force pod gone', async () => (await env.kubectl('get', 'pods', '-n', ns, '-o', 'name')).includes('force-new-cluster') === false, { timeoutMs: 60_000 });
    await env.waitFor('the checker writing again', () => checker.acknowledgedSoFar() > acked + 20, { timeoutMs: 60_000 });
    const report = await expectNoLoss(checker);
    console.log(`writes failed during the loss (never acknowledged): ${report.failedWrites}`);
  });

  it('the spent consent does not fire again', async () => {
    const sts = await statefulSetUid();
    await new Promise((r) => setTimeout(r, 5_000));
    const c = await cluster();
    expect(c.status!.recovery!.phase).toBe('Succeeded');
    expect(await statefulSetUid()).toBe(sts);
  });

  it('again from ordinal 0 with the operator killed at three steps: converges, and the survivor ran with the flag once', async () => {
    const lost = [`${name}-1`, `${name}-2`];
    await env.loseMembers(ns, lost);
    await env.waitFor('QuorumLost', async () => condition(await cluster(), 'Available')?.reason === 'QuorumLost', { timeoutMs: 60_000 });
    // The operator stops before the consent: a running one could take the first step (delete the
    // StatefulSet) before it is stopped, and the one started to crash there would then never reach it.
    await env.operator().process.stop();
    const started = Date.now();
    // A new consent (the spent one names no member): this one names the survivor.
    await consent({ clusterUID: uid, fromSurvivor: { member: `${name}-0` } });
    for (const point of ['recovery-deleteStatefulSet', 'recovery-createForcePod', 'recovery-deleteForcePod']) {
      // The operator before this one crashed at its point (and the first was stopped above).
      const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: point });
      await env.waitFor(`the operator to crash at ${point}`, () => !crashing.process.running(), { timeoutMs: 120_000 });
      expect(await crashing.process.exited).toBeNull();
      console.log(`crashed at ${point}; status.recovery.phase ${(await cluster()).status?.recovery?.phase}`);
    }
    await env.startOperator();
    const c = await env.waitConverged(ns, name, 3, 300_000);
    console.log(`consent -> 3/3 voters through three operator crashes: ${Date.now() - started} ms`);
    expect(c.status!.recovery).toMatchObject({ phase: 'Succeeded', member: `${name}-0` });
    const forced = (await env.eventReasons(ns)).filter((r) => r === 'ForceNewCluster');
    expect(forced).toHaveLength(2); // one per recovery: never a second run
  });
});
