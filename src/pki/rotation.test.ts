import { X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectLeaf, issuedBy, secretKeys, secretText } from './inspect.js';
import { executeCertificatePlan } from './issue.js';
import { type CertificatePlan, type ObservedPki, type PkiInputs, planCertificates } from './plan.js';
import { leafKinds, leafProfile } from './profiles.js';
import { type RotationView, memberTrustText, overlapBundle, pemBlocks, planRotation } from './rotation.js';
import { issue } from './x509.js';

const day = 24 * 3600_000;
const cluster = { name: 'db', namespace: 'prod', clusterDomain: 'cluster.local' };
const policy = { validityMs: 90 * day, renewBeforeMs: 30 * day };
const base: PkiInputs = { cluster, ownerUid: 'uid-1', policy, trustInUse: false };
const owner = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', name: 'db', uid: 'uid-1', controller: true, blockOwnerDeletion: true };
const now = new Date('2026-03-01T00:00:00Z');
const text = (s: V1Secret | undefined, key: string) => (s ? secretText(s, key) : undefined) ?? '';

/** Any CA of `bundle` signed `certPem`. */
function trusts(bundle: string, certPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return pemBlocks(bundle).some((ca) => {
    const c = new X509Certificate(ca);
    return cert.checkIssued(c) && cert.verify(c.publicKey);
  });
}

interface Member {
  /** The bundles etcd read at its start: --trusted-ca-file (server Secret), --peer-trusted-ca-file (peer Secret). */
  trust: string;
  peerTrust: string;
  /** Every leaf it may serve: the kubelet refreshes mounted Secrets with a lag, so any written since its start. */
  serves: Set<string>;
}

/**
 * The world of the Secrets and three members. Members restart (one at a time) only when the
 * pod template's trust text changes, as the StatefulSet roll does; every state in between must let
 * every member talk to every other and the operator (with its current or previous client Secret) to all.
 */
class World {
  secrets = new Map<string, V1Secret>();
  members: Member[] = [];
  operatorVersions: V1Secret[] = [];
  rolledFor = '';
  steps: string[] = [];
  restarts = 0;
  /** The clock of the passes. */
  at = now;

  get = (name: string) => this.secrets.get(name);
  observed(): ObservedPki {
    const leaves: ObservedPki['leaves'] = {};
    for (const kind of leafKinds) leaves[kind] = this.get(leafProfile(cluster, kind).secretName);
    const next = this.get('db-ca-next');
    return { ca: this.get(this.caName), ...(next ? { next } : {}), leaves };
  }
  constructor(private readonly caName = 'db-ca') {}

  trustText(): string {
    const server = this.get('db-server-tls');
    return memberTrustText(text(server, secretKeys.ca), server ? inspectLeaf(server) : undefined);
  }
  leafCerts(): string[] {
    return ['db-server-tls', 'db-peer-tls'].map((n) => text(this.get(n), secretKeys.cert));
  }
  start(): void {
    this.members = [0, 1, 2].map(() => ({ trust: text(this.get('db-server-tls'), secretKeys.ca), peerTrust: text(this.get('db-peer-tls'), secretKeys.ca), serves: new Set(this.leafCerts()) }));
    this.operatorVersions = [this.get('db-operator-client-tls')!];
    this.rolledFor = this.trustText();
  }

  /** `crashAfter`: the operator is killed after that many of the pass's writes (the delete last). */
  async pass(inputs: PkiInputs, crashAfter = Infinity): Promise<CertificatePlan> {
    const observed = this.observed();
    const plan = planCertificates(observed, { ...inputs, membersRolled: this.rolledFor === this.trustText() }, this.at);
    this.steps.push(plan.rotation?.step.kind ?? (plan.issue.length > 0 ? 'issue' : 'none'));
    const writes = await executeCertificatePlan(plan, observed, inputs, owner, this.at);
    for (const s of writes.slice(0, crashAfter)) this.secrets.set(s.metadata!.name!, s);
    if (plan.rotation?.step.kind === 'finish' && crashAfter > writes.length) this.secrets.delete('db-ca-next');
    for (const m of this.members) for (const c of this.leafCerts()) m.serves.add(c);
    const op = this.get('db-operator-client-tls')!;
    if (op !== this.operatorVersions.at(-1)) this.operatorVersions = [this.operatorVersions.at(-1)!, op];
    this.check();
    if (this.trustText() !== this.rolledFor) this.roll();
    return plan;
  }

  roll(): void {
    for (const m of this.members) {
      m.trust = text(this.get('db-server-tls'), secretKeys.ca);
      m.peerTrust = text(this.get('db-peer-tls'), secretKeys.ca);
      m.serves = new Set(this.leafCerts());
      this.restarts++;
      this.check();
    }
    this.rolledFor = this.trustText();
    // The operator reloads its client Secret on the next pass at the latest.
    this.operatorVersions = [this.operatorVersions.at(-1)!];
  }

  check(): void {
    for (const m of this.members) {
      for (const n of this.members) for (const leaf of n.serves) expect(trusts(m.trust, leaf) && trusts(m.peerTrust, leaf), 'a member rejects a peer').toBe(true);
      for (const op of this.operatorVersions) {
        expect(trusts(m.trust, text(op, secretKeys.cert)), 'a member rejects the operator').toBe(true);
        for (const leaf of m.serves) expect(trusts(text(op, secretKeys.ca), leaf), 'the operator rejects a member').toBe(true);
      }
    }
  }

  async converge(inputs: PkiInputs, maxPasses = 20): Promise<void> {
    for (let i = 0; i < maxPasses; i++) {
      const plan = await this.pass(inputs);
      if (!plan.rotation && plan.issue.length === 0 && plan.ca.action !== 'issue') return;
    }
    throw new Error(`no convergence: ${this.steps.join(' ')}`);
  }
}

const inUse = (extra: Partial<PkiInputs> = {}): PkiInputs => ({ ...base, trustInUse: true, ...extra });

async function runningCluster(token?: string): Promise<World> {
  const world = new World();
  await world.pass({ ...base, ...(token ? { rotateToken: token } : {}) });
  world.start();
  world.steps = [];
  return world;
}

describe('CA rotation of the operator CA', { timeout: 60_000 }, () => {
  it('rotates on a new rotate-ca token through widen, reissue, promote, narrow, finish: no member or operator call is refused at any step', async () => {
    const world = await runningCluster();
    const oldCa = text(world.get('db-ca'), secretKeys.cert);
    await world.converge(inUse({ rotateToken: 't1' }));
    expect(world.steps).toEqual(['start', 'widen', 'reissue', 'promote', 'narrow', 'finish', 'none']);
    const newCa = text(world.get('db-ca'), secretKeys.cert);
    expect(newCa).not.toBe(oldCa);
    expect(world.get('db-ca')!.metadata!.annotations).toEqual({ 'etcd.operator.dev/rotate-ca': 't1' });
    expect(world.get('db-ca-next')).toBeUndefined();
    for (const kind of leafKinds) {
      const s = world.get(leafProfile(cluster, kind).secretName)!;
      expect(text(s, secretKeys.ca)).toBe(newCa);
      expect(trusts(newCa, text(s, secretKeys.cert))).toBe(true);
    }
    // Three rolls of three members: widen, reissue, narrow.
    expect(world.restarts).toBe(9);
    // The same token again rotates nothing.
    world.steps = [];
    await world.converge(inUse({ rotateToken: 't1' }));
    expect(world.steps).toEqual(['none']);
  });

  it('a token present when the CA is minted (a copied manifest) rotates nothing', async () => {
    const world = await runningCluster('copied');
    await world.converge(inUse({ rotateToken: 'copied' }));
    expect(world.steps).toEqual(['none']);
  });

  it('waits for the roll between phases instead of moving on', async () => {
    const world = await runningCluster();
    const inputs = inUse({ rotateToken: 't1' });
    await world.pass(inputs); // start
    world.roll = () => undefined; // the members never restart
    await world.pass(inputs); // widen
    for (let i = 0; i < 3; i++) expect((await world.pass(inputs)).rotation?.step).toEqual({ kind: 'awaitRoll', phase: 'widened' });
  });

  it('starts a rotation when its CA nears expiry, instead of only pausing leaf renewal', async () => {
    const world = await runningCluster();
    const soon = { ...inUse(), policy: { ...policy } };
    const plan = planCertificates(world.observed(), soon, new Date(now.getTime() + (3650 - 20) * day));
    expect(plan.rotation?.step).toEqual({ kind: 'start', reason: 'CAExpiring', expiresAt: new Date(now.getTime() + 3650 * day) });
    // Not CAExpiringSoon. (This world's leaves, never renewed, ended years ago: that is said.)
    expect(plan.problems.map((p) => p.reason)).toEqual(['CARotationOverdue']);
  });

  it('with short durations: renews leaves in place without a restart, then rotates the CA through the overlap once it is within renewBefore', async () => {
    const s = 1000;
    const short = { validityMs: 120 * s, renewBeforeMs: 90 * s, caValidityMs: 180 * s };
    const world = new World();
    await world.pass({ ...base, policy: short });
    world.start();
    world.steps = [];
    const firstCa = new X509Certificate(text(world.get('db-ca'), secretKeys.cert));
    const serials = () => world.leafCerts().map((c) => new X509Certificate(c).serialNumber).join();
    const inputs = inUse({ policy: short });
    const renewals: number[] = [];
    // Passes every 10 s until the rotation starts, as the requeue at `nextRenewalAt` would bring them.
    for (let t = 10; t <= 200; t += 10) {
      world.at = new Date(now.getTime() + t * s);
      const before = serials();
      const plan = await world.pass(inputs);
      if (serials() !== before) renewals.push(t);
      if (plan.rotation) {
        expect(plan.rotation.step).toEqual({ kind: 'start', reason: 'CAExpiring', expiresAt: new Date(firstCa.validTo) });
        break;
      }
      expect(plan.nextRenewalAt!.getTime()).toBeLessThanOrEqual(new Date(firstCa.validTo).getTime() - 90 * s);
    }
    // The leaves (valid 120 s, capped at the CA's end) were due at 30 s and 60 s; the CA at 90 s.
    expect(renewals).toEqual([30, 60]);
    expect(world.steps).toEqual(['none', 'none', 'issue', 'none', 'none', 'issue', 'none', 'none', 'start']);
    expect(world.restarts).toBe(0);
    await world.converge(inputs);
    expect(world.steps.slice(8)).toEqual(['start', 'widen', 'reissue', 'promote', 'narrow', 'finish', 'none']);
    expect(world.restarts).toBe(9);
    // The new CA lives caValidity from the rotation's start, so the next rotation is not due before 180 s.
    const newCa = new X509Certificate(text(world.get('db-ca'), secretKeys.cert));
    expect(new Date(newCa.validTo).getTime()).toBe(Math.floor((now.getTime() + 90 * s + 180 * s) / 1000) * 1000);
    world.at = new Date(now.getTime() + 179 * s);
    const later = await world.pass(inputs);
    expect(later.rotation).toBeUndefined();
    // Leaves from the new CA fall due (reissued at 90 s, valid 120 s): renewed in place, no restart.
    expect(later.issue.map((i) => i.reason)).toEqual(['Expiring', 'Expiring', 'Expiring', 'Expiring']);
    expect(world.restarts).toBe(9);
  });

  it('resumes after a crash in the middle of a phase', async () => {
    const world = await runningCluster();
    const inputs = inUse({ rotateToken: 't1' });
    await world.pass(inputs); // start
    // Widen wrote only its first Secret before the crash (the peer's: the server's comes last).
    const observed = world.observed();
    const plan = planCertificates(observed, { ...inputs, membersRolled: true }, now);
    const [first] = await executeCertificatePlan(plan, observed, inputs, owner, now);
    expect(first!.metadata!.name).toBe('db-peer-tls');
    world.secrets.set(first!.metadata!.name!, first!);
    expect(planCertificates(world.observed(), { ...inputs, membersRolled: true }, now).rotation?.step).toEqual({ kind: 'widen', leaves: ['server', 'operatorClient', 'userClient'] });
    world.rolledFor = ''; // what the pods run is no longer known: they roll
    await world.converge(inputs);
    expect(world.get('db-ca-next')).toBeUndefined();
  });
});

describe('the operator killed (SIGKILL) in the middle of each rotation step', { timeout: 300_000 }, () => {
  // Every step, and every point between its writes (a step writes up to four Secrets, then the
  // finish deletes the next CA's): the process dies there, a new one starts and passes go on. No
  // state in between may refuse a call (World.check), and the rotation must end as without the crash.
  it('resumes from what the Secrets hold, whatever write it died after', async () => {
    const outcomes: string[] = [];
    const sizes = [1, 4, 4, 1, 4, 1]; // start, widen, reissue, promote, narrow; finish deletes (1 = before the delete)
    for (let step = 0; step < sizes.length; step++) {
      for (let kept = 0; kept < sizes[step]!; kept++) {
        const world = await runningCluster();
        const inputs = inUse({ rotateToken: 't1' });
        for (let i = 0; i < step; i++) await world.pass(inputs);
        const killedIn = (await world.pass(inputs, kept)).rotation?.step.kind;
        world.steps = [];
        const problems = new Set<string>();
        for (let i = 0; i < 10; i++) for (const p of (await world.pass(inputs)).problems) problems.add(p.reason);
        const ca = text(world.get('db-ca'), secretKeys.cert);
        const finished = !world.get('db-ca-next') && leafKinds.every((kind) => {
          const sec = world.get(leafProfile(cluster, kind).secretName);
          return text(sec, secretKeys.ca) === ca && trusts(ca, text(sec, secretKeys.cert));
        });
        outcomes.push(`killed in ${killedIn} after ${kept} write(s): ${world.steps.filter((x) => x !== 'none').join(' ')}${problems.size ? ` [${[...problems].join(', ')}]` : ''}${finished ? '' : ' NOT FINISHED'}`);
        expect(problems, outcomes.at(-1)).toEqual(new Set());
        expect(finished, outcomes.at(-1)).toBe(true);
      }
    }
    console.log(outcomes.join('\n'));
    expect(outcomes).toHaveLength(15);
  });
});

describe('a CA Secret deleted while a rotation of the operator CA is under way', { timeout: 180_000 }, () => {
  // After each phase (1 start, 2 widen, 3 reissue, 4 promote, 5 narrow) the Secret goes; passes
  // go on. Every state must let members talk to each other and the operator to them (World.check),
  // and no certificate may come from a CA no member trusts. The table of rotation-sources.ts.
  const table: { gone: string[]; reasons: string[]; finished: boolean[] }[] = [
    // Before: CASecretMissing after every phase, the rotation stuck until the CA Secret came back.
    // Now only the start, when no bundle holds the next CA yet, waits for it.
    { gone: ['db-ca'], reasons: ['CARotationBlocked', '', '', '', ''], finished: [false, true, true, true, true] },
    // Before: after the promotion (the CA Secret holds next) CARotationBlocked; nothing is missing then.
    // After the start it is a new rotation (the token is still unanswered). After widen or reissue
    // the next CA's key is gone and members may serve leaves it signed: before, blocked for good
    // (no leaf renewed again); now the rotation goes back to the CA Secret's CA (reissuing what
    // the lost one signed, then narrowing), and the unanswered token starts a new one.
    { gone: ['db-ca-next'], reasons: ['', '', '', '', ''], finished: [true, true, true, true, true] },
    { gone: ['db-ca', 'db-ca-next'], reasons: Array<string>(5).fill('CASecretMissing'), finished: Array<boolean>(5).fill(false) },
  ];
  it.each(table)('$gone deleted after any phase: no call refused, nothing signed by a CA members do not trust', async ({ gone, reasons, finished }) => {
    const outcomes: string[] = [];
    const done: boolean[] = [];
    for (let phase = 1; phase <= 5; phase++) {
      const world = await runningCluster();
      const inputs = inUse({ rotateToken: 't1' });
      for (let i = 0; i < phase; i++) await world.pass(inputs);
      for (const g of gone) world.secrets.delete(g);
      world.steps = [];
      const problems = new Set<string>();
      for (let i = 0; i < 16; i++) for (const p of (await world.pass(inputs)).problems) problems.add(p.reason);
      for (const kind of leafKinds) {
        const leaf = text(world.get(leafProfile(cluster, kind).secretName), secretKeys.cert);
        expect(world.members.every((m) => trusts(m.trust, leaf)), `${kind} after phase ${phase}`).toBe(true);
      }
      // Finished: the CA Secret holds the CA every leaf comes from and trusts alone, no next-CA Secret.
      const ca = text(world.get('db-ca'), secretKeys.cert);
      done.push(ca !== '' && !world.get('db-ca-next') && leafKinds.every((kind) => {
        const s = world.get(leafProfile(cluster, kind).secretName);
        return text(s, secretKeys.ca) === ca && trusts(ca, text(s, secretKeys.cert));
      }));
      outcomes.push(`${phase}: ${world.steps.join(' ')}${problems.size ? ` [${[...problems].join(', ')}]` : ''}`);
    }
    console.log(`${gone.join(' and ')} deleted after each phase:\n${outcomes.join('\n')}`);
    expect(outcomes.map((o) => /\[(.*)\]/.exec(o)?.[1] ?? '')).toEqual(reasons);
    expect(done).toEqual(finished);
  });
});

describe('the next-CA Secret deleted in the middle of a step', { timeout: 120_000 }, () => {
  // Between the writes of widen and of reissue (a step writes up to four Secrets): the bundles
  // then differ, or hold the same two CAs with leaves from both. No call is refused on the way
  // back, and the unanswered token ends in a finished rotation to a new CA.
  it.each([
    { step: 1, kept: [1, 2, 3] }, // widen
    { step: 2, kept: [1, 2, 3] }, // reissue
  ])('step $step: back, then a new rotation that finishes', async ({ step, kept }) => {
    for (const k of kept) {
      const world = await runningCluster();
      const inputs = inUse({ rotateToken: 't1' });
      for (let i = 0; i < step; i++) await world.pass(inputs);
      await world.pass(inputs, k);
      const lost = text(world.get('db-ca-next'), secretKeys.cert);
      world.secrets.delete('db-ca-next');
      world.steps = [];
      // The first step back says so (for status and the event), unless a bundle must be put back first.
      const first = planCertificates(world.observed(), { ...inputs, membersRolled: true }, now);
      if (first.rotation) expect(first.rotation.back, `step ${step}, ${k} kept`).toBe(true);
      const problems = new Set<string>();
      for (let i = 0; i < 16; i++) {
        try {
          for (const p of (await world.pass(inputs)).problems) problems.add(p.reason);
        } catch (e) {
          throw new Error(`step ${step}, ${k} write(s) kept: ${world.steps.join(' ')}: ${String(e)}`);
        }
      }
      const ca = text(world.get('db-ca'), secretKeys.cert);
      const outcome = `step ${step}, ${k} write(s) kept: ${world.steps.filter((x) => x !== 'none').join(' ')}`;
      expect(problems, outcome).toEqual(new Set());
      expect(ca, outcome).not.toBe(lost);
      for (const kind of leafKinds) {
        const sec = world.get(leafProfile(cluster, kind).secretName);
        expect(text(sec, secretKeys.ca), `${kind}: ${outcome}`).toBe(ca);
        expect(trusts(ca, text(sec, secretKeys.cert)), `${kind}: ${outcome}`).toBe(true);
      }
      expect(world.get('db-ca-next'), outcome).toBeUndefined();
    }
  });
});

describe('certificates nearing their end while a rotation is stuck', { timeout: 60_000 }, () => {
  // Short durations: the CA lives 180 s and is rotated from 90 s before its end; leaves live 120 s
  // and are renewed 90 s before theirs. The members never restart, so the rotation waits at the
  // widened roll while the clock runs toward the end of the old CA and of the leaves it signed.
  const s = 1000;
  const short = { validityMs: 120 * s, renewBeforeMs: 90 * s, caValidityMs: 180 * s };
  const overdue = (plan: CertificatePlan) => {
    const late = plan.problems.find((p) => p.reason === 'CARotationOverdue');
    return late ? ` [${/(end(?:ed)? at \S+, [^(]+?) \(/.exec(late.message)?.[1]}]` : '';
  };

  it('says so (CARotationOverdue, with the time left) past half of renewBefore, until no leaf comes from the old CA', async () => {
    const world = new World();
    await world.pass({ ...base, policy: short });
    world.start();
    const oldEnd = new Date(new X509Certificate(text(world.get('db-ca'), secretKeys.cert)).validTo).getTime();
    const inputs = inUse({ policy: short });
    // The leaves' renewals (the requeue brings those passes): they end with the CA from then on.
    for (const left of [150, 120]) {
      world.at = new Date(oldEnd - left * s);
      expect((await world.pass(inputs)).issue).toHaveLength(4);
    }
    const seen: string[] = [];
    const rolls = world.roll.bind(world);
    world.roll = () => undefined; // the members never restart
    for (const left of [90, 80, 50, 44, 30, 10, -5]) {
      world.at = new Date(oldEnd - left * s);
      const plan = await world.pass(inputs);
      seen.push(`${left}s left: ${plan.rotation?.step.kind ?? 'none'}${overdue(plan)}`);
    }
    console.log(seen.join('\n'));
    const iso = (left: number) => new Date(oldEnd).toISOString() + (left > 0 ? `, in ${left}s` : `, ${-left}s ago`);
    expect(seen).toEqual([
      '90s left: start',
      '80s left: widen',
      '50s left: awaitRoll',
      `44s left: awaitRoll [end at ${iso(44)}]`,
      `30s left: awaitRoll [end at ${iso(30)}]`,
      `10s left: awaitRoll [end at ${iso(10)}]`,
      // Past its end the CA Secret signs nothing more, and the rotation needs nothing from it.
      `-5s left: awaitRoll [ended at ${iso(-5)}]`,
    ]);
    // The members restart at last: once every leaf comes from the new CA, the warning goes.
    world.roll = rolls;
    world.roll();
    const reissue = await world.pass(inputs);
    expect(reissue.rotation?.step.kind).toBe('reissue');
    expect(reissue.problems.map((p) => p.reason)).toEqual(['CARotationOverdue']);
    expect(reissue.problems[0]!.message).toContain('the server, peer, operatorClient, userClient certificate(s) ended at');
    expect(reissue.problems[0]!.message).toContain('with the old CA (');
    expect(reissue.problems[0]!.message).toContain('The rotation is reissuing certificates from the new CA');
    const after = await world.pass(inputs);
    expect(after.rotation?.step.kind).toBe('promote');
    expect(after.problems).toEqual([]);
    await world.converge(inputs);
    expect(world.steps.slice(-4)).toEqual(['promote', 'narrow', 'finish', 'none']);
  });

  // A roll that waits (a pod never Ready) no longer lets the leaves run out: each is renewed from
  // the CA that issued it, with the bundle it holds, so the phase and the members' trust stay put.
  it('leaves from the new CA reaching renewBefore while the roll after the reissue waits: renewed from the new CA, phase and trust unmoved', async () => {
    const world = new World();
    await world.pass({ ...base, policy: short });
    world.start();
    const inputs = inUse({ policy: short, rotateToken: 't1' });
    for (let i = 0; i < 2; i++) await world.pass(inputs); // start, widen (and its roll)
    world.roll = () => undefined; // the roll after the reissue never ends
    expect((await world.pass(inputs)).rotation?.step.kind).toBe('reissue');
    const endOf = (name: string) => new Date(new X509Certificate(text(world.get(name), secretKeys.cert)).validTo).getTime();
    const reissuedEnd = endOf('db-server-tls');
    const trust = world.trustText();
    const bundles = ['db-server-tls', 'db-peer-tls'].map((n) => text(world.get(n), secretKeys.ca));
    world.at = new Date(reissuedEnd - 100 * s);
    const early = await world.pass(inputs);
    expect(early.rotation?.step).toEqual({ kind: 'awaitRoll', phase: 'reissued' });
    expect(early.renew).toBeUndefined();
    expect(early.nextRenewalAt?.getTime()).toBe(reissuedEnd - 90 * s);
    world.at = new Date(reissuedEnd - 50 * s);
    const due = await world.pass(inputs);
    expect(due.rotation?.step).toEqual({ kind: 'awaitRoll', phase: 'reissued' });
    expect(due.renew).toEqual(leafKinds.map((kind) => ({ kind, signer: 'next' })));
    expect(endOf('db-server-tls')).toBeGreaterThan(reissuedEnd);
    expect(world.trustText()).toBe(trust);
    expect(['db-server-tls', 'db-peer-tls'].map((n) => text(world.get(n), secretKeys.ca))).toEqual(bundles);
    world.at = new Date(reissuedEnd - 40 * s);
    const after = await world.pass(inputs);
    expect(after.rotation?.step).toEqual({ kind: 'awaitRoll', phase: 'reissued' });
    expect(after.renew).toBeUndefined();
    expect(after.problems).toEqual([]);
    // The roll comes at last: the rotation goes on from where it was.
    world.roll = World.prototype.roll.bind(world);
    world.roll();
    await world.converge(inputs);
    expect(world.steps.slice(-4)).toEqual(['promote', 'narrow', 'finish', 'none']);
  });

  it('leaves of the old CA reaching renewBefore while the widening roll waits: renewed from the old CA with the overlap bundle; not once the old CA ends within renewBefore', async () => {
    const long = { validityMs: 120 * s, renewBeforeMs: 90 * s, caValidityMs: 3600 * s };
    const world = new World();
    await world.pass({ ...base, policy: long });
    world.start();
    const inputs = inUse({ policy: long, rotateToken: 't1' });
    await world.pass(inputs); // start
    world.roll = () => undefined; // the widening roll never ends
    expect((await world.pass(inputs)).rotation?.step.kind).toBe('widen');
    const endOf = (name: string) => new Date(new X509Certificate(text(world.get(name), secretKeys.cert)).validTo).getTime();
    const oldCa = text(world.get('db-ca'), secretKeys.cert);
    const leafEnd = endOf('db-peer-tls');
    const trust = world.trustText();
    world.at = new Date(leafEnd - 60 * s);
    const due = await world.pass(inputs);
    expect(due.rotation?.step).toEqual({ kind: 'awaitRoll', phase: 'widened' });
    expect(due.renew).toEqual(leafKinds.map((kind) => ({ kind, signer: 'old' })));
    expect(endOf('db-peer-tls')).toBeGreaterThan(leafEnd);
    expect(inspectLeaf(world.get('db-peer-tls')!) && issuedBy(inspectLeaf(world.get('db-peer-tls')!)!, oldCa)).toBe(true);
    expect(world.trustText()).toBe(trust);
    // Near the old CA's end a renewal would be due at once: left to the rotation, and said.
    const caEnd = new Date(new X509Certificate(oldCa).validTo).getTime();
    world.at = new Date(caEnd - 60 * s);
    const late = await world.pass(inputs);
    expect(late.rotation?.step).toEqual({ kind: 'awaitRoll', phase: 'widened' });
    expect(late.renew).toBeUndefined();
    expect(late.problems.map((p) => p.reason)).toEqual(['CARotationOverdue']);
  });
});

describe('CA rotation of a user CA changed in place', { timeout: 60_000 }, () => {
  let replacement: { certPem: string; keyPem: string };
  beforeAll(async () => {
    replacement = await issue({ commonName: 'user-ca-2', isCA: true, notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 3650 * day), serialHex: '02' });
  });

  it('widens, reissues and narrows without ever writing the user Secret', async () => {
    const first = await issue({ commonName: 'user-ca-1', isCA: true, notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 3650 * day), serialHex: '01' });
    const userSecret = (ca: { certPem: string; keyPem: string }): V1Secret => ({
      metadata: { name: 'my-ca', namespace: 'prod' },
      data: { 'tls.crt': Buffer.from(ca.certPem).toString('base64'), 'tls.key': Buffer.from(ca.keyPem).toString('base64') },
    });
    const world = new World('my-ca');
    world.secrets.set('my-ca', userSecret(first));
    const withRef = { caSecretRef: { name: 'my-ca' } };
    await world.pass({ ...base, ...withRef });
    world.start();
    world.steps = [];
    world.secrets.set('my-ca', userSecret(replacement));
    await world.converge(inUse(withRef));
    expect(world.steps).toEqual(['widen', 'reissue', 'narrow', 'none']);
    expect(text(world.get('db-server-tls'), secretKeys.ca)).toBe(replacement.certPem);
    expect(world.get('my-ca')!.data!['tls.crt']).toBe(Buffer.from(replacement.certPem).toString('base64'));
  });
});

describe('planRotation', () => {
  it('waits, naming the Secrets, when a leaf is missing during a rotation', () => {
    const view: RotationView = { oldPem: 'a', nextPem: 'b', leaves: {}, rolled: true, operatorCa: true, promoted: false };
    const step = planRotation(view);
    expect(step).toMatchObject({ kind: 'blocked', problem: { reason: 'CARotationBlocked' } });
  });

  it('keeps the old CA first in the overlap bundle', () => {
    expect(overlapBundle('A\n', 'B')).toBe('A\nB\n');
  });
});
