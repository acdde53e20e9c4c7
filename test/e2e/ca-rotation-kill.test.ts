import { X509Certificate } from 'node:crypto';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberSelector, selectorString } from '../../src/resources/names.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// A CA rotation with the operator killed (SIGKILL) in each of its steps, right after the step's
// first Secret write (crash points `after-ca-<step>`, src/runtime/crashpoints.ts), and started
// again: every pass derives the phase from what the Secrets hold, so the next process carries on
// where the last one died, one member down at a time, with no write lost. Crash points rather than
// a kill on what status shows: a poll of status misses a step that is over before it looks again.
describe('a CA rotation with the operator killed at each phase', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'carotkill';
  const leaves = ['server-tls', 'peer-tls', 'operator-client-tls', 'client-tls'].map((s) => `${name}-${s}`);

  const secret = async (secretName: string) => JSON.parse(await env.kubectl('get', 'secret', secretName, '-n', ns, '-o', 'json')) as V1Secret;
  const exists = async (secretName: string) => (await env.cp.kubectl(['get', 'secret', secretName, '-n', ns])).code === 0;
  const pem = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString('utf8');
  const blocks = (bundle: string) => (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => b.trim());
  const pods = async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', selectorString(memberSelector({ name, namespace: ns })), '-o', 'json')) as { items: V1Pod[] }).items;
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-ca-rotation-kill');
    await env.startOperator();
    await env.createCluster(ns, name);
    await env.waitFor('every pod Ready', async () => ((await pods()).filter(ready).length === 3 ? true : undefined), { timeoutMs: 60_000 });
    // A client that reloads its certificate Secret, as an application with a mounted Secret does.
    checker = await env.checker(ns, name, { reloadTls: true });
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('finishes the rotation, whatever step the operator died in', { timeout: 900_000 }, async () => {
    const oldCa = pem(await secret(`${name}-ca`), 'tls.crt').trim();
    const started = Date.now();
    // Member pods missing or terminating at once, sampled throughout (a roll takes one at a time).
    let maxDown = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const list = await pods().catch(() => undefined);
        if (list) maxDown = Math.max(maxDown, 3 - list.filter((p) => !p.metadata?.deletionTimestamp).length);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const kills: string[] = [];
    try {
      await env.operator().process.stop();
      // Each process carries the rotation on from where the last one died, to its own step.
      for (const step of ['start', 'widen', 'reissue', 'promote', 'narrow', 'finish']) {
        const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: `after-ca-${step}` });
        if (step === 'start') await env.kubectl('annotate', 'etcdcluster', name, '-n', ns, 'etcd.operator.dev/rotate-ca=kill-1');
        await env.waitFor(`the operator to die after its first write of the ${step} step`, () => !crashing.process.running(), { timeoutMs: 240_000, intervalMs: 100 });
        expect(await crashing.process.exited, `killed by a signal at after-ca-${step}`).toBeNull();
        kills.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${step}`);
      }
      await env.startOperator();
      await env.waitFor('the rotation to finish and the last roll to settle', async () => {
        const list = await pods();
        const progressing = (await env.cluster(ns, name)).status?.conditions?.find((c) => c.type === 'Progressing');
        if ((await exists(`${name}-ca-next`)) || progressing?.status !== 'False' || list.length !== 3 || !list.every(ready)) return undefined;
        const sts = JSON.parse(await env.kubectl('get', 'statefulset', name, '-n', ns, '-o', 'json')) as { status: { updateRevision: string } };
        return list.every((p) => p.metadata?.labels?.['controller-revision-hash'] === sts.status.updateRevision) || undefined;
      }, { timeoutMs: 600_000, intervalMs: 200 });
    } finally {
      sampling = false;
      await sampler;
    }
    console.log(`rotation with kills: ${Date.now() - started} ms; killed at: ${kills.join(', ')}; max pods down at once: ${maxDown}`);
    expect(maxDown).toBeLessThanOrEqual(1);
    const ca = pem(await secret(`${name}-ca`), 'tls.crt').trim();
    expect(ca).not.toBe(oldCa);
    const issuer = new X509Certificate(ca);
    for (const l of leaves) {
      const s = await secret(l);
      expect(new X509Certificate(pem(s, 'tls.crt')).verify(issuer.publicKey), `${l} signed by the new CA`).toBe(true);
      expect(blocks(pem(s, 'ca.crt')), `${l} trusts the new CA alone`).toEqual([ca]);
    }
    expect(await env.eventReasons(ns)).not.toContain('QuorumLost');
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    await expectNoLoss(checker);
  });
});
