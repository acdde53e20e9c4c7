import { describe, expect, it } from 'vitest';
import { parseGatewayMemberList, parsePeerMembers } from './member-list.js';

// Bodies as etcd 3.5.35 sent them: a member and a fresh learner (no name, no client URLs).
const peerBody =
  '[{"id":975050037397374526,"peerURLs":["http://127.0.0.1:23811"],"name":"a","clientURLs":["http://127.0.0.1:23812"]},{"id":15018744253381786127,"peerURLs":["http://127.0.0.1:23899"],"isLearner":true}]\n';
const gatewayBody =
  '{"header":{"cluster_id":"1763263672009699311","member_id":"975050037397374526","raft_term":"2"},"members":[{"ID":"975050037397374526","name":"a","peerURLs":["http://127.0.0.1:23811"],"clientURLs":["http://127.0.0.1:23812"]},{"ID":"15018744253381786127","peerURLs":["http://127.0.0.1:23899"],"isLearner":true}]}';
const expected = [
  { id: '975050037397374526', name: 'a', peerURLs: ['http://127.0.0.1:23811'], clientURLs: ['http://127.0.0.1:23812'], isLearner: false },
  { id: '15018744253381786127', name: '', peerURLs: ['http://127.0.0.1:23899'], clientURLs: [], isLearner: true },
];

describe("the start guard's member lists", () => {
  it('reads the peer port /members with 64-bit IDs intact (JSON numbers beyond 2^53)', () => {
    expect(parsePeerMembers(peerBody)).toEqual(expected);
  });

  it('reads the gateway MemberList (IDs as strings) and who answered', () => {
    expect(parseGatewayMemberList(gatewayBody)).toEqual({ reportedBy: '975050037397374526', members: expected });
  });

  it('refuses what is not a member list, so that it counts as no answer', () => {
    expect(() => parsePeerMembers('{"message":"x"}')).toThrow(/array/);
    expect(() => parsePeerMembers('[{"peerURLs":[]}]')).toThrow(/decimal id/);
    expect(() => parseGatewayMemberList('{"error":"etcdserver: not capable","code":14}')).toThrow(/not a member list/);
    expect(() => parseGatewayMemberList('not json')).toThrow();
  });
});
