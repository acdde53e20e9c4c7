import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberSelector, selectorString } from '../../src/resources/names.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// The operator's own CA, valid 3 minutes, comes within renewBefore (90 s) of its expiry with no
// one asking: it is rotated through the same trust overlap as a requested rotation. Leaves valid
// 2 minutes fall due every 30 s before and after it and are renewed in place: etcd reloads its
// certificate per connection, so a renewal restarts no member. Only the three rolls do. The CA
// validity is raised to 1h before the rotation: a change applies to the next CA, which then lives
// 1h (with 3m, a rotation slowed by a loaded machine to 70 s is followed by the next 20 s later).
describe('the operator CA nearing expiry, with short durations', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'caexp';
  const tls = { certificateValidity: '2m', renewBefore: '90s', caValidity: '3m' };
  let oldCa: X509Certificate;
  let logOffset = 0;
  let watchedFrom = 0;
  /** When each pod name was first seen under each uid, in ms since the watch began. */
  const incarnations = new Map<string, Map<string, number>>();
  /** When the server certificate's serial changed, and under which CA. */
  const serverSerials: { at: number; serial: string; byOldCa: boolean }[] = [];
  const phases: { at: number; phase: string }[] = [];
  const degraded = new Set<string>();
  let maxDown = 0;
  /** The first look finds what ran before the watch: its times are 0. */
  let looked = false;

  const secret = async (secretName: string) => JSON.parse(await env.kubectl('get', 'secret', secretName, '-n', ns, '-o', 'json')) as V1Secret;
  const pem = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString('utf8');
  const pods = async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', selectorString(memberSelector({ name, namespace: ns })), '-o', 'json')) as { items: V1Pod[] }).items;
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  const nextExists = async () => (await env.cp.kubectl(['get', 'secret', `${name}-ca-next`, '-n', ns])).code === 0;
  const since = () => (looked ? Date.now() - watchedFrom : 0);

  /** One look at the world: pod incarnations, the server certificate, Progressing and Degraded. */
  async function look(): Promise<V1Pod[]> {
    const list = await pods();
    maxDown = Math.max(maxDown, 3 - list.filter((p) => !p.metadata?.deletionTimestamp).length);
    for (const p of list) {
      const seen = incarnations.get(p.metadata!.name!) ?? new Map<string, number>();
      if (!seen.has(p.metadata!.uid!)) seen.set(p.metadata!.uid!, since());
      incarnations.set(p.metadata!.name!, seen);
    }
    const cert = new X509Certificate(pem(await secret(`${name}-server-tls`), 'tls.crt'));
    if (serverSerials.at(-1)?.serial !== cert.serialNumber) serverSerials.push({ at: since(), serial: cert.serialNumber, byOldCa: cert.verify(oldCa.publicKey) });
    const conditions = (await env.cluster(ns, name)).status?.conditions ?? [];
    const progressing = conditions.find((c) => c.type === 'Progressing');
    const phase = `${progressing?.status}/${progressing?.reason}`;
    if (phases.at(-1)?.phase !== phase) phases.push({ at: since(), phase });
    const d = conditions.find((c) => c.type === 'Degraded');
    if (d?.status === 'True') degraded.add(`${d.reason}: ${d.message}`);
    looked = true;
    return list;
  }
  const restartsBefore = (t: number) => [...incarnations.values()].reduce((n, seen) => n + [...seen.values()].filter((at) => at > 0 && at < t).length, 0);

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-ca-expiry');
    await env.startOperator();
    const manifest = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name, namespace: ns }, spec: { replicas: 3, tls } };
    const apply = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    expect(apply.code, apply.stderr).toBe(0);
    await env.waitConverged(ns, name, 3);
    await env.waitFor('every pod Ready', async () => ((await pods()).filter(ready).length === 3 ? true : undefined), { timeoutMs: 60_000 });
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { tls: { caValidity: '1h' } } }));
    // A client that reloads its certificate Secret, as an application with a mounted Secret does.
    checker = await env.checker(ns, name, { reloadTls: true });
    checker.start();
  });
  afterAll(async () => {
    if (env) copyFileSync(env.operator().process.logPath, '/tmp/e2e-ca-expiry-operator.log');
    await env?.stop();
  });

  it('renews leaves in place, then rotates the CA on its own through the trust overlap, one member down at a time', { timeout: 300_000 }, async () => {
    oldCa = new X509Certificate(pem(await secret(`${name}-ca`), 'tls.crt'));
    const caBorn = new Date(oldCa.validFrom).getTime() + 5 * 60_000; // issued backdated by 5 min
    logOffset = readFileSync(env.operator().process.logPath, 'utf8').length;
    watchedFrom = Date.now();
    await look();
    const untilDue = new Date(oldCa.validTo).getTime() - 90_000 - Date.now();
    console.log(`converged ${watchedFrom - caBorn} ms after the CA was issued; it expires at ${oldCa.validTo}, due for rotation in ${untilDue} ms`);

    // Phase 0: leaves fall due every 30 s and are renewed from the same CA; the CA is due at 90 s.
    await env.waitFor('the next CA Secret', async () => ((await look(), await nextExists()) ? true : undefined), { timeoutMs: untilDue + 60_000, intervalMs: 500 });
    const startedAt = since();
    const renewedBefore = serverSerials.filter((s) => s.at > 0 && s.at < startedAt);
    // The rotation, to its end and the last roll settled.
    await env.waitFor('the rotation to finish and the last roll to settle', async () => {
      const list = await look();
      const progressing = phases.at(-1)!.phase;
      if ((await nextExists()) || !progressing.startsWith('False/') || list.length !== 3 || !list.every(ready)) return undefined;
      const sts = JSON.parse(await env.kubectl('get', 'statefulset', name, '-n', ns, '-o', 'json')) as { status: { updateRevision: string } };
      return list.every((p) => p.metadata?.labels?.['controller-revision-hash'] === sts.status.updateRevision) || undefined;
    }, { timeoutMs: 150_000, intervalMs: 500 });
    const finishedAt = since();
    // Phase 4: a leaf from the new CA falls due about 30 s after its reissue, and is renewed in place.
    const serialsAtFinish = serverSerials.length;
    await env.waitFor('a leaf renewal after the rotation', async () => ((await look(), serverSerials.length > serialsAtFinish) ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
    await env.waitFor('the renewed files to reach the members', async () => ((await look(), since() - serverSerials.at(-1)!.at > 10_000) ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
    const renewedAfter = serverSerials.slice(serialsAtFinish);

    const timeline = phases.map((p) => `${(p.at / 1000).toFixed(1)}s ${p.phase}`).join(' -> ');
    const counts = [...incarnations].map(([p, seen]) => `${p}: ${seen.size}`).join(', ');
    console.log(`rotation started at ${(startedAt / 1000).toFixed(1)} s, settled at ${(finishedAt / 1000).toFixed(1)} s (${finishedAt - startedAt} ms); Progressing: ${timeline}`);
    console.log(`server certificate serials: ${serverSerials.map((s) => `${(s.at / 1000).toFixed(1)}s ${s.byOldCa ? 'old CA' : 'new CA'}`).join(', ')}`);
    console.log(`leaf renewals before the rotation: ${renewedBefore.length}, after it: ${renewedAfter.length}; restarts before the rotation: ${restartsBefore(startedAt)}; pod incarnations: ${counts}; max pods down at once: ${maxDown}`);
    const timed = await env.kubectl('get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=EtcdCluster', '--sort-by=.lastTimestamp', '-o', 'jsonpath={range .items[*]}{.lastTimestamp} {.reason} {.message}{"\\n"}{end}');
    console.log(`events:\n${timed}`);

    // Leaves were renewed before the CA came due, and none of those renewals restarted a member.
    expect(renewedBefore.length).toBeGreaterThanOrEqual(1);
    expect(restartsBefore(startedAt)).toBe(0);
    // Three rolls (widen, reissue, narrow) and nothing else: four incarnations of each pod, the
    // renewal after the rotation included.
    for (const [pod, seen] of incarnations) expect(seen.size, pod).toBe(4);
    expect(renewedAfter.length).toBeGreaterThanOrEqual(1);
    expect(maxDown).toBeLessThanOrEqual(1);
    // An operator CA due for rotation is rotated, not reported; no lost quorum either. (A member
    // restarting is briefly reported unhealthy: logged, not asserted.)
    console.log(`Degraded while watching: ${[...degraded].join(' | ') || 'never'}`);
    expect([...degraded].filter((d) => /CAExpiringSoon|CARotationBlocked|CASecret|CAKeyMismatch|CAChanged|InvalidTLSPolicy|SecretNotOwned|QuorumLost|within renewBefore/.test(d))).toEqual([]);
    expect(phases.filter((p) => p.phase.includes('QuorumLost'))).toEqual([]);
    const events = await env.eventReasons(ns);
    for (const reason of ['CARotationStarted', 'CARotationWidening', 'CARotationReissuing', 'CARotationNarrowing', 'CARotationFinished']) expect(events).toContain(reason);
    expect(timed).toMatch(/CARotationStarted CA rotation started \(the CA expires at .*, within renewBefore\)/);
  });

  it('ends on a new CA of the caValidity set since, that every leaf chains to, with the old CA dropped', async () => {
    const ca = await secret(`${name}-ca`);
    const newCa = new X509Certificate(pem(ca, 'tls.crt'));
    expect(newCa.fingerprint256).not.toBe(oldCa.fingerprint256);
    const lifetime = new Date(newCa.validTo).getTime() - new Date(newCa.validFrom).getTime();
    expect(lifetime).toBe(60 * 60_000 + 5 * 60_000); // caValidity, plus the 5 min backdating
    expect(new Date(newCa.validTo).getTime()).toBeGreaterThan(new Date(oldCa.validTo).getTime());
    for (const leaf of ['server-tls', 'peer-tls', 'operator-client-tls', 'client-tls'].map((s) => `${name}-${s}`)) {
      const s = await secret(leaf);
      const cert = new X509Certificate(pem(s, 'tls.crt'));
      expect(cert.checkIssued(newCa) && cert.verify(newCa.publicKey), `${leaf} signed by the new CA`).toBe(true);
      expect(pem(s, 'ca.crt').trim(), `${leaf} trusts the new CA alone`).toBe(pem(ca, 'tls.crt').trim());
    }
  });

  it('kept the operator connected throughout: no member rejected it', () => {
    const log = readFileSync(env.operator().process.logPath, 'utf8').slice(logOffset).split('\n');
    const silent = log.filter((l) => l.includes('etcd did not answer'));
    const tlsErrors = log.filter((l) => /certificate|handshake|SSL|unknown ca|bad certificate/i.test(l) && /error|warn|fail/i.test(l));
    const failed = log.filter((l) => l.includes('"level":"error"'));
    console.log(`operator log: ${log.length} lines, 'etcd did not answer': ${silent.length}, TLS errors: ${tlsErrors.length}, errors: ${failed.length}`);
    for (const l of [...silent, ...tlsErrors, ...failed].slice(0, 5)) console.log(`  ${l.slice(0, 400)}`);
    expect(silent).toEqual([]);
    expect(tlsErrors).toEqual([]);
  });

  it('lost no acknowledged write and served no stale read throughout', async () => {
    await expectNoLoss(checker);
  });
});
