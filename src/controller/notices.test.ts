import { describe, expect, it } from 'vitest';
import { type Notice, NoticeMemo, lastingRefusalMs, refusalNotices } from './notices.js';
import type { EtcdView, MemberView } from './observe-etcd.js';

const warn = (reason: string, message = `${reason} happened`): Notice => ({ type: 'Warning', reason, message });
const minute = 60_000;

describe('NoticeMemo: a lasting state is sent once, not once per pass', () => {
  it('sends a new notice, then nothing while it lasts, then again after the repeat interval', () => {
    const memo = new NoticeMemo(30 * minute);
    const a = warn('CASecretMissing');
    const passes: Notice[][] = [];
    for (const t of [0, 1, 2, 29, 30, 31]) {
      const due = memo.due('ns/db', [a], t * minute);
      due.forEach((n) => memo.record('ns/db', n, t * minute));
      passes.push(due);
    }
    expect(passes.map((p) => p.length)).toEqual([1, 0, 0, 0, 1, 0]);
  });

  it('sends again at once a state that went away and came back', () => {
    const memo = new NoticeMemo();
    const a = warn('CASecretMissing');
    memo.record('ns/db', a, 0);
    expect(memo.due('ns/db', [], 1)).toEqual([]);
    expect(memo.due('ns/db', [a], 2)).toEqual([a]);
  });

  it('tells notices apart by type, reason, message and cluster', () => {
    const memo = new NoticeMemo();
    const a = warn('CAChanged', 'one');
    memo.record('ns/db', a, 0);
    const others = [warn('CAChanged', 'two'), { ...a, type: 'Normal' as const }, warn('SecretNotOwned', 'one')];
    expect(memo.due('ns/db', [a, ...others], 1)).toEqual(others);
    expect(memo.due('ns/other', [a], 1)).toEqual([a]);
  });

  it('one state whose message follows its progress is sent once: the key names the state', () => {
    const memo = new NoticeMemo();
    const first = { ...warn('NoSpace', 'the operator compacts'), key: 'NOSPACE 1' };
    memo.record('ns/db', first, 0);
    expect(memo.due('ns/db', [{ ...first, message: 'delete keys' }], 1)).toEqual([]);
    expect(memo.due('ns/db', [{ ...first, key: 'NOSPACE 1,2' }], 2)).toHaveLength(1);
  });

  it('a partial pass (one that failed) forgets nothing it did not report', () => {
    const memo = new NoticeMemo();
    const a = warn('NoSpace');
    memo.record('ns/db', a, 0);
    const failure = warn('KubernetesRefused');
    expect(memo.due('ns/db', [failure], 1, true)).toEqual([failure]);
    expect(memo.due('ns/db', [a], 2)).toEqual([]);
  });

  it('sends again what was due but never recorded as sent (the send failed)', () => {
    const memo = new NoticeMemo();
    const a = warn('CASecretMissing');
    expect(memo.due('ns/db', [a], 0)).toEqual([a]);
    expect(memo.due('ns/db', [a], 1)).toEqual([a]);
  });

  it('forgets a deleted cluster', () => {
    const memo = new NoticeMemo();
    const a = warn('CASecretMissing');
    memo.record('ns/db', a, 0);
    memo.forget('ns/db');
    expect(memo.due('ns/db', [a], 1)).toEqual([a]);
  });
});

describe('NoticeMemo: a state that counts only once it lasts', () => {
  it('sends a notice with afterMs once it has lasted that long, and starts over when it went away', () => {
    const memo = new NoticeMemo();
    const refused: Notice = { ...warn('MemberCertificateRefused', 'db-1: serves a certificate that has expired'), key: 'db-1', afterMs: 30_000 };
    const send = (t: number, current: Notice[], partial = false) => {
      const due = memo.due('ns/db', current, t, partial);
      due.forEach((n) => memo.record('ns/db', n, t));
      return due.length;
    };
    expect([0, 10_000, 29_999, 30_000, 31_000].map((t) => send(t, [refused]))).toEqual([0, 0, 0, 1, 0]);
    // Gone for a pass, then back: a new moment, not a lasting state.
    expect(send(40_000, [])).toBe(0);
    expect(send(41_000, [refused])).toBe(0);
    // A failed pass that did not see it does not end it.
    expect(send(50_000, [], true)).toBe(0);
    expect(send(71_000, [refused])).toBe(1);
  });
});

describe('refusalNotices', () => {
  const expired = { fault: 'expired' as const, words: 'certificate has expired' };
  const member = (name: string, certificate?: typeof expired): MemberView => ({ id: name, name, ordinal: 0, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: undefined, healthy: false, isLeader: false, problem: certificate ? 'serves a certificate that has expired: its health cannot be checked' : 'no answer', ...(certificate ? { certificate } : {}) });
  it('names each member whose certificate the handshake refused, once it lasts', () => {
    const etcd: EtcdView = { clusterId: '1', leaderId: undefined, quorumConfirmed: true, members: [member('db-0'), member('db-1', expired)] };
    expect(refusalNotices(etcd, [])).toEqual([{ type: 'Warning', reason: 'MemberCertificateRefused', message: 'db-1: serves a certificate that has expired: its health cannot be checked', key: 'db-1', afterMs: lastingRefusalMs }]);
  });
  it('names the endpoints when no member answered', () => {
    const notices = refusalNotices(undefined, [{ endpoint: 'https://10.0.0.1:2379', host: 'db-2.db-peer.ns.svc', certificate: expired }]);
    expect(notices.map((n) => [n.key, n.message])).toEqual([['https://10.0.0.1:2379', 'db-2: serves a certificate that has expired: its health cannot be checked']]);
    expect(refusalNotices(undefined, undefined)).toEqual([]);
  });
});
