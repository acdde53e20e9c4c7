import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { emptyDataRefusal, refusedMemberIn } from '../resources/empty-data-refusal.js';
import { sampleCluster } from '../resources/fixtures.js';
import { annotationKeys } from '../resources/names.js';
import { buildStatefulSet } from '../resources/statefulset.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import { planEmptyData, refusalInTemplate, refusedEmptyStart } from './empty-data.js';

// What etcd 3.6.16 printed last when it refused (its fatal line, shortened): the termination message.
const refusedLog = (hex: string) =>
  `{"level":"fatal","msg":"discovery failed","error":"error setting up initial cluster: URL scheme must be http, https, unix, or unixs: refused-empty-data-dir://member-${hex}","stacktrace":"go.etcd.io/etcd/server/v3/etcdmain.startEtcdOrProxyV2"}`;

type EtcdState = 'running' | 'crashLooping' | 'refusedThenRunning' | 'refusedNow' | 'otherCrash';
function etcdStatus(state: EtcdState, hex = '2a'): V1ContainerStatus {
  const base = { name: 'etcd', image: 'etcd', imageID: '', ready: false, restartCount: 1 };
  switch (state) {
    case 'running':
      return { ...base, state: { running: {} } };
    case 'crashLooping':
      return { ...base, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, message: refusedLog(hex) } } };
    case 'refusedThenRunning':
      return { ...base, state: { running: {} }, lastState: { terminated: { exitCode: 1, message: refusedLog(hex) } } };
    case 'refusedNow':
      return { ...base, state: { terminated: { exitCode: 1, message: refusedLog(hex) } } };
    case 'otherCrash':
      return { ...base, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 2, message: 'panic: tocommit(58) is out of range [lastIndex(0)]' } } };
  }
}
const pod = (ordinal: number, etcd: EtcdState = 'running', refusal?: string): V1Pod => ({
  metadata: { name: `c-${ordinal}`, uid: `uid-${ordinal}`, ...(refusal ? { annotations: { [annotationKeys.emptyDataRefusal]: refusal, other: 'kept' } } : {}) },
  status: { containerStatuses: [etcdStatus(etcd)] },
});
/** `ran`: published its name and client URLs; a fresh learner has neither. */
const member = (id: string, ordinal: number, ran = true): MemberView => ({
  id, name: ran ? `c-${ordinal}` : '', ordinal, peerURLs: [`https://c-${ordinal}.c-peer:2380`], clientURLs: ran ? [`https://c-${ordinal}.c-peer:2379`] : [],
  isLearner: !ran, started: ran, status: undefined, healthy: ran, isLeader: false, problem: undefined,
});
const view = (members: MemberView[], quorumConfirmed = true): EtcdView => ({ clusterId: '1', leaderId: members[0]?.id, quorumConfirmed, members });
const pods = (...list: V1Pod[]) => new Map(list.map((p, i) => [Number(p.metadata!.name!.split('-')[1] ?? i), p]));

describe('the refusal of an emptied data directory', () => {
  it('is one more --initial-cluster entry naming the member in hex, and is found again in etcd\'s words', () => {
    expect(emptyDataRefusal('42')).toBe(',empty-data-dir=refused-empty-data-dir://member-2a');
    expect(emptyDataRefusal('18446744073709551615')).toBe(',empty-data-dir=refused-empty-data-dir://member-ffffffffffffffff');
    expect(refusedMemberIn(refusedLog('8e9e05c52164694d'))).toBe('8e9e05c52164694d');
    expect(refusedMemberIn('panic: tocommit(58) is out of range')).toBeUndefined();
    expect(refusedMemberIn(undefined)).toBeUndefined();
  });

  it('is seen only while etcd is down: refused now or in its last run', () => {
    expect(refusedEmptyStart(pod(0, 'crashLooping'))).toBe('2a');
    expect(refusedEmptyStart(pod(0, 'refusedNow'))).toBe('2a');
    expect(refusedEmptyStart(pod(0, 'refusedThenRunning'))).toBeUndefined();
    expect(refusedEmptyStart(pod(0, 'otherCrash'))).toBeUndefined();
    expect(refusedEmptyStart(pod(0, 'running'))).toBeUndefined();
    expect(refusedEmptyStart({ metadata: { name: 'c-0' } })).toBeUndefined();
  });
});

describe('planEmptyData', () => {
  const x = emptyDataRefusal('42');
  const y = emptyDataRefusal('43');
  const cases: { name: string; pods: Map<number, V1Pod>; etcd: EtcdView | undefined; steps: unknown[] }[] = [
    { name: 'members that ran get their refusal', pods: pods(pod(0), pod(1)), etcd: view([member('42', 0), member('43', 1)]), steps: [{ kind: 'annotate', ordinal: 0, pod: 'c-0', uid: 'uid-0', refusal: x }, { kind: 'annotate', ordinal: 1, pod: 'c-1', uid: 'uid-1', refusal: y }] },
    { name: 'a quiet cluster writes nothing', pods: pods(pod(0, 'running', x), pod(1, 'running', y)), etcd: view([member('42', 0), member('43', 1)]), steps: [] },
    { name: 'a fresh learner must start empty: its pod carries no refusal', pods: pods(pod(0, 'running', x), pod(1, 'running', y)), etcd: view([member('42', 0), member('44', 1, false)]), steps: [{ kind: 'annotate', ordinal: 1, pod: 'c-1', uid: 'uid-1', refusal: undefined }] },
    { name: 'an ordinal whose member was removed carries none either', pods: pods(pod(0, 'running', x), pod(1, 'running', y)), etcd: view([member('42', 0)]), steps: [{ kind: 'annotate', ordinal: 1, pod: 'c-1', uid: 'uid-1', refusal: undefined }] },
    { name: 'the member that replaced one takes over the refusal once it ran', pods: pods(pod(1, 'running', x)), etcd: view([member('43', 1)]), steps: [{ kind: 'annotate', ordinal: 1, pod: 'c-1', uid: 'uid-1', refusal: y }] },
    { name: 'a refused pod is deleted, and its refusal left as it is', pods: pods(pod(0, 'running', x), pod(1, 'crashLooping', y)), etcd: view([member('42', 0), member('43', 1)]), steps: [{ kind: 'deletePod', ordinal: 1, pod: 'c-1', uid: 'uid-1', memberHex: '2a' }] },
    { name: 'without a quorum refused pods are still deleted, and no refusal changes', pods: pods(pod(0, 'refusedNow', x), pod(1)), etcd: view([member('42', 0), member('43', 1)], false), steps: [{ kind: 'deletePod', ordinal: 0, pod: 'c-0', uid: 'uid-0', memberHex: '2a' }] },
    { name: 'no member answering: nothing but deletions', pods: pods(pod(0), pod(1, 'crashLooping')), etcd: undefined, steps: [{ kind: 'deletePod', ordinal: 1, pod: 'c-1', uid: 'uid-1', memberHex: '2a' }] },
    { name: 'another crash is not a refusal', pods: pods(pod(0, 'otherCrash', x)), etcd: view([member('42', 0)]), steps: [] },
  ];
  it.each(cases)('$name', ({ pods: p, etcd, steps }) => {
    expect(planEmptyData(p, etcd)).toEqual(steps);
  });
});

describe('refusalInTemplate', () => {
  const cluster = sampleCluster();
  const sts = (refuse: boolean, c = cluster) => buildStatefulSet(c, 3, 'h', 'cluster.local', 'op:1', refuse);
  it('a new StatefulSet and one that has it carry the refusal', () => {
    expect(refusalInTemplate(undefined, undefined)).toBe(true);
    expect(refusalInTemplate(sts(true), sts(false))).toBe(true);
  });
  it('a live StatefulSet from before it keeps its template until something else changes it: no roll for the operator\'s release alone', () => {
    expect(refusalInTemplate(sts(false), sts(false))).toBe(false);
    expect(refusalInTemplate(sts(false), sts(false, sampleCluster({ version: '3.5.35' })))).toBe(true);
  });
  it('the etcd container reads the pod annotation at each start, appends it to --initial-cluster, and leaves its last words', () => {
    const etcd = sts(true).spec!.template.spec!.containers[0]!;
    expect(etcd.args).toContain('--initial-cluster=$(ETCD_OPERATOR_INITIAL_CLUSTER)$(ETCD_OPERATOR_EMPTY_DATA_REFUSAL)');
    expect(etcd.env).toContainEqual({ name: 'ETCD_OPERATOR_EMPTY_DATA_REFUSAL', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${annotationKeys.emptyDataRefusal}']` } } });
    expect(etcd.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    const before = sts(false).spec!.template.spec!.containers[0]!;
    expect(before.args).toContain('--initial-cluster=$(ETCD_OPERATOR_INITIAL_CLUSTER)');
    expect(before.env?.some((e) => e.name === 'ETCD_OPERATOR_EMPTY_DATA_REFUSAL')).toBe(false);
    expect(before.terminationMessagePolicy).toBeUndefined();
    // The guard is not given it: it reads --initial-cluster to find its peers.
    expect(sts(true).spec!.template.spec!.initContainers![0]!.args).toContain('--initial-cluster=$(ETCD_OPERATOR_INITIAL_CLUSTER)');
  });
});
