import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// A 3-member cluster on 3.5.35 upgraded to 3.6.16 with writes running: the flags each version
// gets, an option the target does not know refused before any member restarts, and the
// operator killed (SIGKILL) at each step of the upgrade, converging each time it comes back.
describe('upgrade 3.5 -> 3.6', () => {
  let env: E2eEnvironment;
  let checker: Checker;
  const ns = 'default';
  const name = 'upg';
  const from = '3.5.35';
  const to = '3.6.16';

  const pods = async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json')) as { items: V1Pod[] }).items;
  const podUids = async () => Object.fromEntries((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  const statefulSet = async () => JSON.parse(await env.kubectl('get', 'statefulset', name, '-n', ns, '-o', 'json')) as V1StatefulSet;
  const etcdContainer = (pod: V1Pod) => pod.spec!.containers.find((c) => c.name === 'etcd')!;
  /** Each pod's etcd image tag, as `upg-0=v3.6.16` (`~` while it terminates): what the crashed operator left behind. */
  const images = async () =>
    (await pods())
      .map((p) => `${p.metadata!.name}=${etcdContainer(p).image!.split(':').at(-1)}${p.metadata!.deletionTimestamp ? '~' : ''}`)
      .sort()
      .join(' ');

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-upgrade');
    await env.startOperator();
    // proxy is a flag 3.6 no longer knows; watch-progress-notify-interval is 3.5's experimental one.
    await env.createCluster(ns, name, { version: from, options: { proxy: 'off', 'watch-progress-notify-interval': '5m' } });
    checker = await env.checker(ns, name);
    checker.start();
  });
  afterAll(async () => env?.stop());

  it('gives 3.5 members the experimental name of a renamed flag', async () => {
    for (const pod of await pods()) {
      expect(etcdContainer(pod).args).toContain('--experimental-watch-progress-notify-interval=5m');
      expect(etcdContainer(pod).image).toContain(`v${from}`);
    }
  });

  it('refuses an option the target version does not know, before any member restarts', async () => {
    const before = await podUids();
    const revision = (await statefulSet()).status?.updateRevision;
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: to } }));
    const degraded = await env.waitFor('Degraded to name the refused option', async () => {
      const c = (await env.cluster(ns, name)).status?.conditions?.find((x) => x.type === 'Degraded');
      return c?.reason === 'OptionUnknownToVersion' ? c : undefined;
    }, { timeoutMs: 60_000 });
    console.log(`refused: ${degraded.message}`);
    expect(degraded.message).toContain('proxy was removed in etcd 3.6.0');
    await env.waitFor('a Warning event', async () => (await env.eventReasons(ns)).includes('OptionUnknownToVersion'), { timeoutMs: 30_000 });
    // Several passes later, still no member rolled and the template unchanged.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await podUids()).toEqual(before);
    expect((await statefulSet()).status?.updateRevision).toBe(revision);
    expect((await env.cluster(ns, name)).status?.observedGeneration).toBeLessThan((await env.cluster(ns, name)).metadata.generation!);
  });

  it('converges with the operator killed after each step of the upgrade', async () => {
    const started = Date.now();
    await env.operator().process.stop();
    let crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-template-apply' });
    // Removing the refused option lets the upgrade start: the template is written first.
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { options: { proxy: null } } }));
    await env.waitFor('the operator to crash after writing the template', () => !crashing.process.running(), { timeoutMs: 120_000 });
    expect(await crashing.process.exited).toBeNull();
    console.log(`after-template-apply: ${await images()}`);
    const upgraded = async () => ((await env.cluster(ns, name)).status?.members ?? []).every((m) => m.version === to) && (await pods()).every((p) => etcdContainer(p).image!.includes(`v${to}`));
    let crashes = 1;
    // Each member restart (and the leadership move before the leader's) kills the operator once.
    for (let i = 0; i < 6 && !(await upgraded()); i++) {
      crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-member-restart,after-leader-move' });
      await env.waitFor('the operator to crash or the upgrade to finish', async () => !crashing.process.running() || (await upgraded()), { timeoutMs: 180_000 });
      const crashed = !crashing.process.running();
      if (crashed) crashes++;
      console.log(`${crashed ? `crash ${crashes}` : 'no crash'}: ${await images()}`);
      if (!crashed) await crashing.process.stop();
    }
    await env.startOperator();
    const cluster = await env.waitConverged(ns, name, 3);
    console.log(`upgrade with ${crashes} operator crashes: ${Date.now() - started} ms`);
    expect(crashes).toBeGreaterThanOrEqual(4); // template + one per member
    expect(cluster.status!.currentVersion).toBe(to);
    expect(cluster.status!.members!.every((m) => m.version === to)).toBe(true);
    for (const pod of await pods()) {
      expect(etcdContainer(pod).args).toContain('--watch-progress-notify-interval=5m');
      expect(etcdContainer(pod).args!.join(' ')).not.toContain('--experimental-watch-progress');
    }
  });

  it('holds an upgrade while a member does not answer, says which, and resumes when it recovers', async () => {
    const blk = 'blk';
    const created = await env.createCluster(ns, blk, { version: from });
    // The member's etcd process, found by the cluster's unique token: stopped, it answers nothing.
    const token = `--initial-cluster-token=${ns}-${blk}-${created.metadata.uid}`;
    const line = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').find((l) => l.includes(token) && l.includes(`--name=${blk}-1 `));
    const pid = Number(line!.trim().split(' ')[0]);
    const podsOf = async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${blk}`, '-o', 'json')) as { items: V1Pod[] }).items;
    const before = (await podsOf()).map((p) => p.metadata!.uid).sort();
    process.kill(pid, 'SIGSTOP');
    try {
      await env.kubectl('patch', 'etcdcluster', blk, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: to } }));
      const waiting = await env.waitFor('Progressing to say what the upgrade waits for', async () => {
        const c = (await env.cluster(ns, blk)).status?.conditions?.find((x) => x.type === 'Progressing');
        return c?.reason === 'UpgradeWaiting' ? c : undefined;
      }, { timeoutMs: 60_000 });
      console.log(`blocked: ${waiting.message}`);
      expect(waiting.message).toContain(`${blk}-1 is not healthy`);
      expect((await podsOf()).map((p) => p.metadata!.uid).sort()).toEqual(before);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const started = Date.now();
    const cluster = await env.waitFor('the upgrade to finish', async () => {
      const c = await env.waitConverged(ns, blk, 3);
      return c.status?.currentVersion === to ? c : undefined;
    }, { timeoutMs: 240_000 });
    console.log(`resumed and upgraded 3 members in ${Date.now() - started} ms`);
    expect(cluster.status!.members!.every((m) => m.version === to)).toBe(true);
  });

  it('undoes a roll to an image that cannot be pulled once the spec is set back, saying why the member is down meanwhile', async () => {
    const good = etcdContainer((await pods())[0]!).image!;
    const bad = `registry.invalid/etcd:${good.split(':').at(-1)}`;
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { image: bad } }));
    // The roll restarts one member onto the image, which cannot be pulled; it stops there.
    const stuck = await env.waitFor('a member pod stuck pulling the bad image', async () => {
      const p = (await pods()).find((x) => etcdContainer(x).image === bad && !x.metadata!.deletionTimestamp);
      const waiting = p?.status?.containerStatuses?.find((c) => c.name === 'etcd')?.state?.waiting;
      return waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff' ? p!.metadata!.name! : undefined;
    }, { timeoutMs: 120_000 });
    const degraded = await env.waitFor('Degraded to say why the member is down', async () => {
      const c = (await env.cluster(ns, name)).status?.conditions?.find((x) => x.type === 'Degraded');
      return c?.status === 'True' && /cannot run etcd: container etcd: (ErrImagePull|ImagePullBackOff)/.test(c.message ?? '') ? c : undefined;
    }, { timeoutMs: 60_000 });
    console.log(`stuck: ${stuck}; Degraded: ${degraded.message}`);
    expect((await pods()).filter((p) => etcdContainer(p).image === bad)).toHaveLength(1);
    // Setting the image back must bring the member back: the roll itself waits for every member
    // to be healthy, which the stuck one never is.
    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/image' }]));
    await env.waitFor('every pod back on the pullable image', async () => {
      const all = await pods();
      return all.length === 3 && all.every((p) => etcdContainer(p).image === good && !p.metadata!.deletionTimestamp) ? true : undefined;
    }, { timeoutMs: 120_000 });
    await env.waitConverged(ns, name, 3);
    console.log(`image set back -> converged: ${Date.now() - started} ms`);
    expect(await env.eventReasons(ns)).toEqual(expect.arrayContaining(['MemberPodFailing', 'StuckMemberRestarted']));
  });

  it('takes a field removed from spec.podTemplate off the members, after it left one unschedulable', async () => {
    // Before the fix the removal never reached the StatefulSet: what was left of the template was
    // already there, so the apply was skipped and the member stayed Pending for good.
    const selector = { 'etcd.operator.dev/e2e-nowhere': 'true' };
    let started = Date.now();
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { podTemplate: { nodeSelector: selector } } }));
    const pending = await env.waitFor('a member pod that cannot be scheduled', async () => {
      const p = (await pods()).find((x) => x.spec?.nodeSelector?.['etcd.operator.dev/e2e-nowhere'] && !x.metadata!.deletionTimestamp);
      const scheduled = p?.status?.conditions?.find((c) => c.type === 'PodScheduled');
      return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' ? p!.metadata!.name! : undefined;
    }, { timeoutMs: 120_000 });
    await env.waitFor('Degraded to say the member cannot be scheduled', async () => {
      const c = (await env.cluster(ns, name)).status?.conditions?.find((x) => x.type === 'Degraded');
      return c?.status === 'True' && c.message?.includes('cannot run etcd: Unschedulable: ') ? c : undefined;
    }, { timeoutMs: 90_000 });
    console.log(`nodeSelector nowhere -> ${pending} Pending and Degraded said so: ${Date.now() - started} ms`);
    started = Date.now();
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/podTemplate/nodeSelector' }]));
    await env.waitFor('the selector off the StatefulSet and every pod', async () => {
      const all = await pods();
      const sts = await statefulSet();
      return !sts.spec!.template.spec!.nodeSelector && all.length === 3 && all.every((p) => !p.spec?.nodeSelector && !p.metadata!.deletionTimestamp) ? true : undefined;
    }, { timeoutMs: 120_000 });
    await env.waitConverged(ns, name, 3);
    console.log(`nodeSelector removed -> converged: ${Date.now() - started} ms`);
  });

  it('a new cluster on an image that cannot be pulled says so, and starts once the image is set back', async () => {
    const one = 'pull';
    const manifest = join(mkdtempSync(join(tmpdir(), 'e2e-pull-')), 'pull.json');
    writeFileSync(manifest, JSON.stringify({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: one, namespace: ns }, spec: { replicas: 1, version: to, image: `registry.invalid/etcd:v${to}` } }));
    await env.kubectl('apply', '-f', manifest);
    // No member answers, so the pods themselves are named in Degraded, with a Warning.
    const degraded = await env.waitFor('Degraded to name the pod that cannot run etcd', async () => {
      const c = (await env.cluster(ns, one)).status?.conditions?.find((x) => x.type === 'Degraded');
      return c?.status === 'True' && c.message?.includes(`${one}-0 cannot run etcd: container etcd: `) ? c : undefined;
    }, { timeoutMs: 60_000 });
    console.log(`bootstrapping on a bad image: Degraded ${degraded.reason}: ${degraded.message}`);
    const warned = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${one},reason=MemberPodFailing`, '-o', 'name');
    expect(warned.trim()).not.toBe('');
    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', one, '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/image' }]));
    await env.waitConverged(ns, one, 1, 120_000);
    console.log(`image set back -> 1-member cluster converged: ${Date.now() - started} ms`);
    await env.kubectl('delete', 'etcdcluster', one, '-n', ns, '--wait=false');
  });

  it('lost no acknowledged write and served no stale read', async () => {
    await expectNoLoss(checker);
  });
});
