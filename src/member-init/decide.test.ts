import { describe, expect, it } from 'vitest';
import { type GuardInput, type ListedMember, decide } from './decide.js';

const url = (n: number) => `https://c-${n}.c-peer.ns.svc.cluster.local:2380`;
const ran = (n: number, id = `${n}00`): ListedMember => ({ id, name: `c-${n}`, peerURLs: [url(n)], clientURLs: [`https://c-${n}:2379`], isLearner: false });
const freshLearner = (n: number, id = `${n}99`): ListedMember => ({ id, name: '', peerURLs: [url(n)], clientURLs: [], isLearner: true });
const neverStartedVoter = (n: number): ListedMember => ({ id: `${n}00`, name: `c-${n}`, peerURLs: [url(n)], clientURLs: [], isLearner: false });
const view = (by: string, ...members: ListedMember[]) => ({ reportedBy: by, members });
const input = (over: Partial<GuardInput>): GuardInput => ({ hasData: false, state: 'existing', peerURL: url(1), views: [], ...over });

describe('the start guard', () => {
  it.each<[string, GuardInput, boolean, string]>([
    ['a volume with data starts whatever the cluster says', input({ hasData: true, views: [view('a', ran(0), ran(1))] }), true, 'data directory'],
    ['a volume with data starts when nobody answers', input({ hasData: true }), true, 'data directory'],
    ['empty, the old member already ran: wait', input({ views: [view('a', ran(0), ran(1), ran(2))] }), false, 'already ran'],
    ['empty, one of two views still shows the old member: wait', input({ views: [view('a', ran(0), freshLearner(1)), view('c', ran(0), ran(1))] }), false, 'already ran'],
    ['empty, re-added as a fresh learner everywhere: start', input({ views: [view('a', ran(0), freshLearner(1)), view('c', ran(2), freshLearner(1))] }), true, 'added as learner'],
    ['empty, not listed yet (old member removed, new one not added): wait', input({ views: [view('a', ran(0), ran(2))] }), false, 'does not list'],
    ['empty, a lagging member does not list the learner yet: wait', input({ views: [view('a', ran(0), freshLearner(1)), view('c', ran(0), ran(2))] }), false, 'does not list'],
    ['empty, nobody answers (quorum lost or single member): wait', input({}), false, 'no member answers'],
    ['empty, an initial member that never came up: start', input({ views: [view('a', ran(0), neverStartedVoter(1), ran(2))] }), true, 'initial member'],
    ['bootstrap, nobody answers yet: start', input({ state: 'new' }), true, 'no member answers'],
    ['bootstrap, peers formed without having seen this member run: start', input({ state: 'new', views: [view('a', ran(0), neverStartedVoter(1))] }), true, 'has not run'],
    ['bootstrap state but the cluster formed and this member ran: wait', input({ state: 'new', views: [view('a', ran(0), ran(1), ran(2))] }), false, 'already ran'],
    ['bootstrap state but this peer URL is not a member: wait', input({ state: 'new', views: [view('a', ran(0), ran(2))] }), false, 'formed without it'],
    // A log of a member the cluster removed, this peer URL given to a new member (learner re-added after a timeout, on a retained volume).
    ['data of a removed member, the URL re-added everywhere: discard', input({ hasData: true, walMemberId: '150', views: [view('a', ran(0), freshLearner(1)), view('c', ran(2), freshLearner(1))] }), false, 'discarded'],
    ['data of the member that owns the URL: start', input({ hasData: true, walMemberId: '100', views: [view('a', ran(0), ran(1))] }), true, 'data directory'],
    ['data of a member still listed (a view behind the removal): start', input({ hasData: true, walMemberId: '150', views: [view('a', ran(0), freshLearner(1)), view('c', ran(0), freshLearner(1, '150'))] }), true, 'data directory'],
    // Before: started, refused by its peers as the removed member, exited, and crash-looped (a
    // container restart does not run the guard again), so the re-added learner never started.
    ['data of a removed member, one view does not list the new member yet: wait', input({ hasData: true, walMemberId: '150', views: [view('a', ran(0), freshLearner(1)), view('c', ran(0), ran(2))] }), false, 'guard waits'],
    ['data of a removed member, not added again yet: wait', input({ hasData: true, walMemberId: '150', views: [view('a', ran(0), ran(2)), view('c', ran(0), ran(2))] }), false, 'guard waits'],
    ['data of a removed member, but the URL\'s new member already ran: start as before (its own rules hold the pod)', input({ hasData: true, walMemberId: '150', views: [view('a', ran(0), ran(1))] }), true, 'data directory'],
    ['data whose log could not be read: start as before', input({ hasData: true, views: [view('a', ran(0), freshLearner(1))] }), true, 'data directory'],
    ['data, nobody answers (a whole cluster restarting): start', input({ hasData: true, walMemberId: '150' }), true, 'data directory'],
  ])('%s', (_title, given, start, reason) => {
    const verdict = decide(given);
    expect(verdict.start).toBe(start);
    expect(verdict.reason).toContain(reason);
    expect('discard' in verdict && verdict.discard === true).toBe(reason === 'discarded');
    // Only a volume found empty under a member that ran names a lost member: the operator's proof.
    expect('lostMember' in verdict ? verdict.lostMember : undefined).toBe(reason === 'already ran' ? '100' : undefined);
  });
});
