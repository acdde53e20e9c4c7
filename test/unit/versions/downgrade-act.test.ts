import { describe, expect, it } from 'vitest';
import winston from 'winston';
import type { EtcdCluster } from '../../../src/api/types.generated.js';
import type { KubeWriter } from '../../../src/controller/kube-writer.js';
import type { ObservedMember } from '../../../src/controller/membership.js';
import type { EtcdView } from '../../../src/controller/observe-etcd.js';
import { FakeEtcdAdmin } from '../etcd/fake.js';
import { downgradeInSight, heldByDowngrade, idleDowngradeCheckMs, reconcileDowngrade } from '../../../src/versions/downgrade-act.js';

const names = ['db-0', 'db-1', 'db-2'];

function setup() {
  const admin = new FakeEtcdAdmin(names.map((n) => ({ name: n, peerURL: `https://${n}:2380`, clientURL: `https://${n}:2379` })));
  const ids = names.map((_, i) => admin.endpoints[i]!);
  const etcd = { quorumConfirmed: true, members: names.map((name, i) => ({ id: String(i), name, status: { endpoint: ids[i] } })) } as unknown as EtcdView;
  const members: ObservedMember[] = names.map((name, i) => ({ id: String(i), name, ordinal: i, started: true, isLearner: false, healthy: true, isLeader: i === 0, caughtUp: true, lag: 0, outdated: true }));
  const events: string[] = [];
  const writer = { event: (_c: unknown, _t: string, reason: string) => Promise.resolve(void events.push(reason)) } as unknown as KubeWriter;
  const log = winston.createLogger({ silent: true });
  const pass = (version: string, ms = members) => reconcileDowngrade({ cluster: { metadata: { name: 'db', namespace: 'ns' }, spec: { version } } as EtcdCluster, admin, etcd, members: ms, writer, log, now: new Date(0), checked: new Map() });
  return { admin, members, events, pass };
}

const restart = { kind: 'restartMember', memberId: '1', ordinal: 1 } as const;

describe('reconcileDowngrade', () => {
  it('enables the downgrade, holding restarts for that pass, then lets the roll go', async () => {
    const { admin, events, pass } = setup();
    const first = await pass('3.5.35');
    expect(first.plan.kind).toBe('enable');
    expect(heldByDowngrade(restart, first)).toBe(true);
    // One change per pass: the pass that enabled sends nothing else either.
    expect(heldByDowngrade({ kind: 'promoteLearner', memberId: '1', ordinal: 1 }, first)).toBe(true);
    expect(admin.downgradeTarget).toBe('3.5.0');
    expect(events).toEqual(['DowngradeEnabled']);
    const next = await pass('3.5.35');
    expect(next.plan.kind).toBe('roll');
    expect(heldByDowngrade(restart, next)).toBe(false);
    expect(events).toEqual(['DowngradeEnabled']);
  });

  it('waits with an unhealthy member and enables nothing', async () => {
    const { admin, members, pass } = setup();
    const outcome = await pass('3.5.35', members.map((m) => (m.name === 'db-2' ? { ...m, healthy: false } : m)));
    expect(outcome).toMatchObject({ plan: { kind: 'wait' }, progress: { reason: 'Downgrading' } });
    expect(heldByDowngrade(restart, outcome)).toBe(true);
    expect(admin.downgradeTarget).toBeUndefined();
  });

  it('cancels when spec.version goes back before any member moved', async () => {
    const { admin, events, pass } = setup();
    await pass('3.5.35');
    expect((await pass('3.6.16')).plan.kind).toBe('cancel');
    expect(admin.downgradeTarget).toBeUndefined();
    expect(events).toEqual(['DowngradeEnabled', 'DowngradeCancelled']);
    expect((await pass('3.6.16')).plan.kind).toBe('none');
  });
});

describe('downgradeInSight: when a pass reads every member\'s versions', () => {
  const etcd = (...versions: string[]) => ({ quorumConfirmed: true, members: versions.map((version, i) => ({ id: String(i), status: { version } })) }) as unknown as EtcdView;
  const cluster = (version: string, reason?: string) =>
    ({ spec: { version }, status: reason ? { conditions: [{ type: 'Progressing', status: 'True', reason }] } : {} }) as unknown as EtcdCluster;
  const recently = 1_000;
  const cases: [string, EtcdCluster, EtcdView, number | undefined, boolean][] = [
    ['the first pass of this process', cluster('3.6.16'), etcd('3.6.16', '3.6.16'), undefined, true],
    ['an idle cluster checked a moment ago', cluster('3.6.16'), etcd('3.6.16', '3.6.16'), recently, false],
    ['an idle cluster after the idle interval', cluster('3.6.16'), etcd('3.6.16', '3.6.16'), recently - idleDowngradeCheckMs, true],
    ['spec one minor below the members', cluster('3.5.35'), etcd('3.6.16', '3.6.16'), recently, true],
    ['members on two minors (a roll under way)', cluster('3.5.35'), etcd('3.5.35', '3.6.16'), recently, true],
    ['the last status said Downgrading', cluster('3.6.16', 'Downgrading'), etcd('3.6.16', '3.6.16'), recently, true],
    ['a patch change within the minor', cluster('3.6.17'), etcd('3.6.16', '3.6.16'), recently, false],
  ];
  it.each(cases)('%s', (_, c, e, last, want) => expect(downgradeInSight(c, e, last === undefined ? undefined : last + 1_000, 2_000)).toBe(want));
});
