import { X509Certificate } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../../src/api/types.generated.js';
import { parseMembershipConfig } from '../../../src/resources/membership-config.js';
import { names } from '../../../src/resources/names.js';
import { ApiStub } from './fakes.js';
import { type Pass, World, key, ref } from './world.js';

// The EtcdClusterReconciler pass after pass over fakes of its own dependencies (cache, writer,
// etcd client pool, clock). What is asserted is the world the passes leave (objects, members,
// status, events), and that each pass changes one thing. A pass takes a few milliseconds; the
// generous timeouts are for a shared machine under load (the first test generates the cluster's keys).

let api: ApiStub;
/** The certificate Secrets of the first test's cluster: keys are generated once per file. */
let secrets: KubernetesObject[] = [];

beforeAll(async () => {
  api = await new ApiStub().start();
});
afterAll(async () => api.close());

const writes = (p: Pass) => p.writes.map((w) => `${w.op} ${w.what}`);
const membershipEvents = new Set(['MemberAdded', 'MemberPromoted', 'MemberRemoved', 'LeaderMoved', 'StatefulSetScaled', 'StatefulSetCreated']);
const changesOf = (p: Pass) => p.writes.filter((w) => w.op === 'event' && membershipEvents.has(w.what.split('/')[1]!)).map((w) => w.what.split('/')[1]!);

/** A cluster that bootstrapped and settled, with the Secrets of the first test. */
async function formed(spec: Partial<EtcdCluster['spec']> = {}): Promise<World> {
  const w = new World(api, spec, secrets);
  await w.settle();
  expect(w.condition('Available')).toMatchObject({ status: 'True' });
  return w;
}

/** Member names and roles, as etcd lists them. */
function members(w: World): string[] {
  return w.etcd.view().map((m) => `${m.name || '(not started)'}${m.isLearner ? ' learner' : ''}`);
}

describe('a new cluster', { timeout: 60_000 }, () => {
  it('first issues the CA and certificates and creates the Services, then the membership ConfigMap and the StatefulSet, then settles', async () => {
    const w = new World(api);
    const first = await w.pass();
    expect(first.error).toBeUndefined();
    // Without the operator's own client certificate, no member may start yet: children only.
    expect(writes(first)).toEqual([
      'apply Secret/main-ca',
      'apply Secret/main-server-tls',
      'apply Secret/main-peer-tls',
      'apply Secret/main-operator-client-tls',
      'apply Secret/main-client-tls',
      'apply Service/main-peer',
      'apply Service/main-client',
      'apply PodDisruptionBudget/main',
      'patchStatus EtcdCluster/main',
    ]);
    expect(w.condition('Progressing')).toMatchObject({ status: 'True', reason: 'Bootstrapping' });
    secrets = w.secrets();

    const second = await w.pass();
    expect(writes(second)).toEqual(['apply ConfigMap/main-membership', 'apply StatefulSet/main', 'event Normal/StatefulSetCreated']);
    const bootstrap = parseMembershipConfig(w.cache.get('ConfigMap', 'db', names.membershipConfig(ref)) as never);
    expect(bootstrap).toMatchObject({ state: 'new', ordinals: [0, 1, 2] });
    expect(w.cache.get('StatefulSet', 'db', 'main')?.spec?.replicas).toBe(3);

    w.kubelet();
    const third = await w.pass();
    // Members answer: the ConfigMap now says `existing` with the volume records; each pod whose
    // member ran gets its refusal of an emptied data directory; the cluster ID is latched.
    expect(writes(third)).toEqual(['apply PodDisruptionBudget/main', 'apply ConfigMap/main-membership', 'apply Pod/main-0', 'apply Pod/main-1', 'apply Pod/main-2', 'patchStatus EtcdCluster/main']);
    const refusals = [0, 1, 2].map((i) => w.cache.get('Pod', 'db', `main-${i}`)?.metadata?.annotations?.['etcd.operator.dev/empty-data-refusal']);
    expect(refusals).toEqual(w.etcd.view().map((m) => `,empty-data-dir=refused-empty-data-dir://member-${BigInt(m.id).toString(16)}`));
    expect(w.cluster().status).toMatchObject({ replicas: 3, readyReplicas: 3, clusterID: BigInt(w.etcd.clusterId).toString(16) });
    expect(w.condition('Available')).toMatchObject({ status: 'True', reason: 'QuorumHealthy' });
    expect(w.condition('Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' });

    // A pass with nothing changed writes nothing, and the API server was only ever read.
    expect(writes(await w.pass())).toEqual([]);
    expect(api.requests.every((r) => r.startsWith('GET '))).toBe(true);
  });

  it('a deleted cluster drops its etcd client and writes nothing', async () => {
    const w = new World(api, {}, secrets);
    w.cache.remove('EtcdCluster', 'db', 'main');
    expect(await w.pass()).toEqual({ result: {}, writes: [] });
    expect(w.admins.dropped).toEqual([key]);
  });
});

describe('an operator upgrade', { timeout: 60_000 }, () => {
  it('stamps a StatefulSet made before the stamp without a moment of Progressing: its pod template is unchanged', async () => {
    const w = await formed();
    // As a release before src/resources/applied.ts left it: the same object, no digest annotation.
    const live = w.cache.get('StatefulSet', 'db', 'main')!;
    const annotations = { ...live.metadata!.annotations };
    delete annotations['etcd.operator.dev/applied'];
    w.cache.put({ ...live, metadata: { ...live.metadata, annotations } } as KubernetesObject);
    const pass = await w.pass();
    expect(writes(pass).filter((x) => !x.startsWith('patchStatus'))).toEqual(['apply StatefulSet/main']);
    expect(w.condition('Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(w.cache.get('StatefulSet', 'db', 'main')!.metadata!.annotations!['etcd.operator.dev/applied']).toBeDefined();
    expect(writes(await w.pass())).toEqual([]);
  });

  it('a field removed from the spec still reads as a template change in the pass that applies it', async () => {
    const w = await formed({ podTemplate: { nodeSelector: { disk: 'ssd' } } });
    w.edit({ podTemplate: {} });
    const pass = await w.pass();
    expect(writes(pass)).toContain('apply StatefulSet/main');
    expect(w.cache.get('StatefulSet', 'db', 'main')!.spec!.template.spec!.nodeSelector).toBeUndefined();
    expect(w.condition('Progressing')).toMatchObject({ status: 'True', reason: 'RestartingMember' });
  });
});

describe('membership changes, one per pass', { timeout: 60_000 }, () => {
  it('scales 3 -> 5: starts both pods ahead, adds one learner, promotes it only once caught up, then the next', async () => {
    const w = await formed();
    w.edit({ replicas: 5 });
    const passes: Pass[] = [];
    let held = false;
    for (let i = 0; i < 20; i++) {
      const p = await w.pass();
      expect(p.error).toBeUndefined();
      expect(w.etcd.view().filter((m) => m.isLearner).length).toBeLessThanOrEqual(1);
      passes.push(p);
      if (w.quiet(p)) break;
      // The first learner to start is held back: no promotion before it caught up.
      if (!held && w.etcd.view().some((m) => m.isLearner && m.running)) {
        held = true;
        expect(writes(await w.pass())).toEqual([]);
        expect(w.condition('Progressing')).toMatchObject({ status: 'True', reason: 'AddingLearner' });
        expect(w.condition('Progressing')?.message).toContain('to catch up with the leader');
      }
      w.kubelet({ catchUp: held });
    }
    for (const p of passes) expect(changesOf(p).length).toBeLessThanOrEqual(1);
    // Both new pods start first and wait in their start guards; each starts etcd once its member is added.
    expect(passes.flatMap(changesOf)).toEqual(['StatefulSetScaled', 'MemberAdded', 'MemberPromoted', 'MemberAdded', 'MemberPromoted']);
    expect(members(w)).toEqual(['main-0', 'main-1', 'main-2', 'main-3', 'main-4']);
    expect(w.condition('Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(w.cluster().status?.observedGeneration).toBe(2);
  });

  it('scales 3 -> 1: moves leadership off a leaving leader, removes the highest ordinals one by one, then shrinks the StatefulSet', async () => {
    const w = await formed();
    const byName = new Map(w.etcd.view().map((m) => [m.name, m.id]));
    w.etcd.leaderId = byName.get('main-2')!;
    w.edit({ replicas: 1 });
    const passes = await w.settle();
    expect(passes.flatMap(changesOf)).toEqual(['LeaderMoved', 'MemberRemoved', 'MemberRemoved', 'StatefulSetScaled']);
    for (const p of passes) expect(changesOf(p).length).toBeLessThanOrEqual(1);
    expect(members(w)).toEqual(['main-0']);
    expect(w.etcd.leaderId).toBe(byName.get('main-0'));
    expect(w.cache.get('StatefulSet', 'db', 'main')?.spec?.replicas).toBe(1);
    // retentionPolicy Retain: the operator deletes no volume.
    expect(passes.flatMap((p) => p.writes).filter((x) => x.op === 'delete')).toEqual([]);
  });
});

describe('a pass that fails', { timeout: 60_000 }, () => {
  it('patches Degraded with the API server refusal and sends one Warning over many failing passes', async () => {
    const w = new World(api, {}, secrets);
    for (let i = 0; i < 3; i++) w.writer.refuse('apply', /^StatefulSet\//, 422, 'Invalid', 'spec: Forbidden: updates to statefulset spec for fields other than ... are forbidden');
    const failed: Pass[] = [];
    for (let i = 0; i < 3; i++) failed.push(await w.pass());
    for (const p of failed) expect(p.error).toMatchObject({ statusCode: 422 });
    expect(w.condition('Degraded')).toMatchObject({ status: 'True', reason: 'KubernetesRefused' });
    expect(w.condition('Degraded')?.message).toContain('HTTP 422 Invalid');
    expect(w.condition('Progressing')).toMatchObject({ status: 'True', reason: 'Bootstrapping' });
    expect(w.writer.events('Warning')).toEqual(['KubernetesRefused']);
    // The refusal over, the next pass carries the spec out and the failure leaves the status.
    await w.pass();
    expect(w.cache.get('StatefulSet', 'db', 'main')).toBeDefined();
    expect(w.condition('Degraded')).toMatchObject({ status: 'False', reason: 'Healthy' });
  });
});

describe('gates', { timeout: 60_000 }, () => {
  it('paused: a new cluster gets no certificate, no child, only its status and one event saying it is paused', async () => {
    const w = new World(api, { paused: true });
    for (let i = 0; i < 3; i++) {
      const p = await w.pass();
      expect(p.writes.filter((x) => x.op !== 'patchStatus' && x.op !== 'event')).toEqual([]);
    }
    expect(w.writer.events()).toEqual(['Paused']);
    expect(w.condition('Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('paused: a formed cluster scaled up changes nothing', async () => {
    const w = await formed();
    w.edit({ paused: true, replicas: 5 });
    const passes = [await w.pass(), await w.pass()];
    expect(passes.flatMap((p) => p.writes).filter((x) => x.op !== 'patchStatus' && x.op !== 'event')).toEqual([]);
    expect(members(w)).toHaveLength(3);
  });

  it('quorum lost: no membership change, no deletion, one QuorumLost Warning', async () => {
    const w = await formed();
    const [, b, c] = w.etcd.view();
    w.etcd.setDown(b!.id);
    w.etcd.setDown(c!.id);
    // main-2's volume is gone too: with quorum, the planner would remove and re-add it.
    w.cache.remove('PersistentVolumeClaim', 'db', 'data-main-2');
    w.edit({ replicas: 5 });
    const passes = [await w.pass(), await w.pass(), await w.pass()];
    const acted = passes.flatMap((p) => p.writes).filter((x) => x.op === 'delete' || (x.op === 'apply' && x.what.startsWith('StatefulSet')));
    expect(acted).toEqual([]);
    expect(members(w)).toEqual(['main-0', 'main-1', 'main-2']);
    expect(w.condition('Available')).toMatchObject({ status: 'False', reason: 'QuorumLost' });
    expect(w.condition('Progressing')).toMatchObject({ status: 'True', reason: 'QuorumLost' });
    expect(w.writer.events('Warning')).toEqual(['QuorumLost']);
  });

  it('cluster ID mismatch: members of another cluster are acted on in no way', async () => {
    const w = await formed();
    const c = w.cluster();
    w.cache.put({ ...c, status: { ...c.status, clusterID: 'abcdef' } } as KubernetesObject);
    w.edit({ replicas: 5 });
    const passes = [await w.pass(), await w.pass(), await w.pass()];
    // Only the disruption budget changes: members not known to be ours may not be evicted at all.
    const applied = passes.flatMap((p) => p.writes).filter((x) => x.op === 'apply' || x.op === 'delete');
    expect(applied.map((x) => [x.what, (x.object as { spec?: { maxUnavailable?: number } }).spec?.maxUnavailable])).toEqual([['PodDisruptionBudget/main', 0]]);
    expect(members(w)).toHaveLength(3);
    expect(w.condition('Available')).toMatchObject({ status: 'False', reason: 'ClusterIDMismatch' });
    expect(w.cluster().status?.clusterID).toBe('abcdef');
    expect(w.writer.events('Warning')).toEqual(['ClusterIDMismatch']);
  });
});

describe('alarms', { timeout: 60_000 }, () => {
  const Mi = 1024 * 1024;

  it('NOSPACE: Degraded with one Warning for the alarm, while the operator compacts, waits for the user, then recovers', async () => {
    const w = await formed({ options: { 'quota-backend-bytes': String(16 * Mi) } });
    const ids = w.etcd.view().map((m) => m.id);
    for (const id of ids) w.etcd.setSize(id, 16 * Mi, 15.9 * Mi);
    w.etcd.alarms = [{ memberId: ids[0]!, alarm: 'NOSPACE' }];
    // Compacted, then every member still above the disarm level defragmented once (freed pages are
    // counted only after a write commits, which NOSPACE refuses), then the wait for the user.
    for (let i = 0; i < 12 && !w.condition('Degraded')?.message?.includes('delete keys'); i++) await w.pass();
    expect(w.etcd.compactRevision).toBe(1000n);
    expect(w.condition('Available')).toMatchObject({ status: 'True' });
    expect(w.condition('Degraded')).toMatchObject({ status: 'True', reason: 'NoSpace' });
    expect(w.condition('Degraded')?.message).toContain('raise spec.options.quota-backend-bytes');
    // A pass that fails meanwhile reports its failure, and does not make the alarm news again.
    w.writer.refuse('patchStatus', /EtcdCluster/, 409, 'Conflict', 'the object has been modified');
    w.etcd.setSize(ids[0]!, 16 * Mi - 4096, 15.9 * Mi);
    expect((await w.pass()).error).toMatchObject({ statusCode: 409 });
    await w.pass();
    // The user deletes most keys: compaction frees pages, defragmentation returns them, the alarm goes.
    w.etcd.revision += 500n;
    for (const id of ids) w.etcd.setSize(id, 16 * Mi, 2 * Mi);
    await w.settle();
    expect(w.etcd.alarms).toEqual([]);
    expect(w.condition('Degraded')).toMatchObject({ status: 'False', reason: 'Healthy' });
    expect(w.writer.events('Normal').filter((r) => r !== 'StatefulSetCreated')).toEqual(['Compacted', 'Defragmented', 'Defragmented', 'MovedLeader', 'Defragmented', 'Compacted', 'Defragmented', 'Defragmented', 'MovedLeader', 'Defragmented', 'AlarmDisarmed']);
    expect(w.writer.events('Warning')).toEqual(['NoSpace', 'KubernetesRefused']);
  });

  it('CORRUPT: reads as inconsistent data, not as a lost quorum, and nothing is changed or disarmed', async () => {
    const w = await formed();
    const corrupt = w.etcd.view()[1]!;
    w.etcd.alarms = [{ memberId: corrupt.id, alarm: 'CORRUPT' }];
    w.edit({ replicas: 5 });
    const passes = [await w.pass(), await w.pass(), await w.pass()];
    expect(passes.flatMap((p) => p.writes).filter((x) => x.op === 'delete' || (x.op === 'apply' && x.what.startsWith('StatefulSet')))).toEqual([]);
    expect(members(w)).toHaveLength(3);
    expect(w.etcd.alarms).toHaveLength(1);
    expect(w.condition('Available')).toMatchObject({ status: 'False', reason: 'DataInconsistent' });
    expect(w.condition('Degraded')).toMatchObject({ status: 'True', reason: 'DataInconsistent' });
    expect(w.condition('Degraded')?.message).toContain(`CORRUPT alarm (member ${BigInt(corrupt.id).toString(16)})`);
    expect(w.writer.events('Warning')).toEqual(['DataInconsistent']);
  });
});

describe('certificates expired while the operator was away', { timeout: 60_000 }, () => {
  // The operator comes back past every leaf's notAfter (the CA still valid): the pass reissues
  // them, and asks etcd with the client certificate it just issued, not the expired one etcd
  // refuses (a pass that could not ask would see no member and report a lost quorum).
  it('reissues every leaf and uses the new client certificate in the same pass', async () => {
    const w = await formed();
    const secretPem = (name: string) => Buffer.from(((w.cache.get('Secret', 'db', name) as { data: Record<string, string> }).data)['tls.crt']!, 'base64').toString();
    const before = secretPem(names.operatorClientSecret(ref));
    const expiry = new Date(new X509Certificate(before).validTo).getTime();
    w.clock.advance(expiry - w.clock.now() + 3600_000);
    const p = await w.pass();
    expect(p.error).toBeUndefined();
    const leafSecrets = [names.serverSecret(ref), names.peerSecret(ref), names.operatorClientSecret(ref), names.userClientSecret(ref)];
    expect(writes(p).filter((x) => x.startsWith('apply Secret/'))).toEqual(leafSecrets.map((n) => `apply Secret/${n}`));
    const after = secretPem(names.operatorClientSecret(ref));
    expect(new Date(new X509Certificate(after).validTo).getTime()).toBeGreaterThan(w.clock.now());
    expect(w.admins.tls?.certPem, 'the pass asked etcd with the expired client certificate').toBe(after);
    expect(w.condition('Available')).toMatchObject({ status: 'True', reason: 'QuorumHealthy' });
  });
});

describe('a CA rotation stuck while its certificates near their end', { timeout: 60_000 }, () => {
  /** The members never restart for the widened bundles: the rotation waits for them. */
  async function stuckRotation(w: World): Promise<number> {
    const c = w.cluster();
    w.cache.put({ ...c, metadata: { ...c.metadata, annotations: { 'etcd.operator.dev/rotate-ca': 't1' } } });
    const steps: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      await w.pass();
      steps.push(w.condition('Progressing')?.reason);
    }
    // Then the roll (RestartingMember), which never ends here.
    expect(steps).toEqual(['CARotationStarted', 'CARotationWidening', 'RestartingMember']);
    const pem = Buffer.from((w.cache.get('Secret', 'db', names.serverSecret(ref)) as { data: Record<string, string> }).data['tls.crt']!, 'base64').toString();
    return new Date(new X509Certificate(pem).validTo).getTime();
  }
  const serverEnd = (w: World) => new Date(new X509Certificate(Buffer.from((w.cache.get('Secret', 'db', names.serverSecret(ref)) as { data: Record<string, string> }).data['tls.crt']!, 'base64').toString()).validTo).getTime();

  it('leaves reaching renewBefore while the roll waits are renewed from the CA that issued them: nothing rolls, nothing Degraded', async () => {
    const w = await formed();
    const end = await stuckRotation(w);
    const template = w.writer.writes.filter((x) => x.op === 'apply' && x.what.startsWith('StatefulSet')).length;
    w.clock.advance(end - 16 * 24 * 3600_000 - w.clock.now());
    await w.pass();
    expect(serverEnd(w)).toBeGreaterThan(end);
    // The rotation is where it was: waiting for the roll onto the widened bundles.
    expect(w.condition('Progressing')).toMatchObject({ reason: 'CARotationWidening', message: 'CA rotation: waiting for every member to restart with the widened trust bundle' });
    expect(w.condition('Degraded')).toMatchObject({ status: 'False' });
    expect(w.writer.writes.filter((x) => x.op === 'apply' && x.what.startsWith('StatefulSet')).length).toBe(template);
  });

  // With the old CA ending 10 days after the leaves, a renewal would be due at once: none is made,
  // and past half of renewBefore before the leaves end the status says so with the time left, and
  // a Warning event tells it (the countdown in the message does not send another each pass).
  it('Degraded CARotationOverdue with the time left; its Warning event not sent again for the countdown', async () => {
    const w = new World(api, { tls: { enabled: true, certificateValidity: '8760h', renewBefore: '720h', caValidity: '9000h' } });
    await w.settle();
    const end = await stuckRotation(w);
    w.clock.advance(end - 16 * 24 * 3600_000 - w.clock.now());
    await w.pass();
    expect(serverEnd(w)).toBe(end);
    expect(w.condition('Degraded')).toMatchObject({ status: 'False' });
    w.clock.advance(2 * 24 * 3600_000);
    await w.pass();
    const degraded = w.condition('Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'CARotationOverdue' });
    expect(degraded?.message).toMatch(/certificate\(s\) end at \S+, in 13d 23h/);
    expect(degraded?.message).toContain('waiting for the members to restart');
    // Hours left: the message counts down by the minute; one lasting state, one event (repeated
    // only after NoticeMemo's 30 minutes, as every lasting state is).
    w.clock.advance(end - 20 * 3600_000 - w.clock.now());
    await w.pass();
    expect(w.condition('Degraded')?.message).toMatch(/in 19h 59m/);
    expect(w.writer.events('Warning')).toEqual(['CARotationOverdue', 'CARotationOverdue']);
    w.clock.advance(5 * 60_000);
    await w.pass();
    expect(w.condition('Degraded')?.message).toMatch(/in 19h 54m/);
    expect(w.writer.events('Warning')).toEqual(['CARotationOverdue', 'CARotationOverdue']);
  });
});
