/**
 * How the start guard asks another member for its member list: one HTTPS request with the peer
 * certificate, no gRPC. Starting Node with the etcd3/gRPC/protobuf stack cost the guard 220 to
 * 260 ms quiet (1.5 to 1.8 s at load 24) on the path of every empty member's start.
 *
 * Where it asks depends on what the answer must prove (see decide.ts):
 * - Joining (`existing`): the JSON gateway on the client port, POST /v3/cluster/member/list, the
 *   same serializable MemberList the gRPC call made. etcd serves its client port only once it is
 *   ready (it has published itself in this run, after applying every entry before that), so an
 *   answer there is never a view from before the member caught up: the guard starts on a
 *   "never ran" view only from such a member.
 * - Bootstrapping (`new`): GET /members on the peer port, the list etcd's own members fetch when
 *   they join (the same in-memory membership). etcd serves it from the moment it listens, where the
 *   client port waits for a quorum: a peer that started first held each guard asking it for the
 *   whole call timeout (2 s), which is what delayed a bootstrap by seconds. For `new`, no answer
 *   already means "start", so a view from a member that is not ready yet only adds evidence: it can
 *   show that this member ran (wait) or is missing (wait), never permit a start that silence would
 *   not.
 */
import { type RequestOptions, request } from 'node:https';
import type { ListedMember } from './decide.js';

export interface PeerTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface View {
  reportedBy: string;
  members: ListedMember[];
}

/** Member IDs are 64-bit: a JSON number must reach us as its digits, never as a JS number. */
type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;
const idAsText: Reviver = (key, value, context) => (key === 'id' || key === 'ID' || key === 'member_id' ? (context?.source?.replace(/^"|"$/g, '') ?? value) : value);

const texts = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function member(raw: unknown, idKey: 'id' | 'ID'): ListedMember {
  const m = (raw ?? {}) as Record<string, unknown>;
  const id = m[idKey];
  if (typeof id !== 'string' || !/^\d+$/.test(id)) throw new Error(`member without a decimal ${idKey}: ${JSON.stringify(raw).slice(0, 200)}`);
  // Empty fields are omitted (Go omitempty, proto3 JSON): a fresh learner has no name or client URLs.
  return { id, name: typeof m.name === 'string' ? m.name : '', peerURLs: texts(m.peerURLs), clientURLs: texts(m.clientURLs), isLearner: m.isLearner === true };
}

/** The peer port's GET /members: a JSON array of etcd's membership.Member (IDs as JSON numbers). */
export function parsePeerMembers(text: string): ListedMember[] {
  const list = JSON.parse(text, idAsText as Parameters<typeof JSON.parse>[1]) as unknown;
  if (!Array.isArray(list)) throw new Error(`expected a JSON array of members, got ${text.slice(0, 200)}`);
  return list.map((m) => member(m, 'id'));
}

/** The gateway's MemberListResponse (proto3 JSON: 64-bit integers as strings). */
export function parseGatewayMemberList(text: string): { reportedBy: string; members: ListedMember[] } {
  const res = JSON.parse(text, idAsText as Parameters<typeof JSON.parse>[1]) as { header?: { member_id?: unknown }; members?: unknown };
  const by = res.header?.member_id;
  if (typeof by !== 'string' || !Array.isArray(res.members)) throw new Error(`not a member list: ${text.slice(0, 200)}`);
  return { reportedBy: by, members: res.members.map((m) => member(m, 'ID')) };
}

/** One request with an overall deadline; anything but a 200 is an error. */
function call(url: URL, tls: PeerTls, timeoutMs: number, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const options: RequestOptions = { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, method: body === undefined ? 'GET' : 'POST', headers: body === undefined ? {} : { 'Content-Type': 'application/json' } };
    const req = request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${url.pathname}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`))));
      res.on('error', reject);
    });
    // The whole exchange, connection and TLS included, not only idle time: a peer that accepts
    // connections but never answers must not hold the guard.
    const timer = setTimeout(() => req.destroy(new Error(`${url.host}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err) => (clearTimeout(timer), reject(err)));
    req.end(body);
  });
}

/** A member's own serializable member list over the client port's JSON gateway (joining). */
export async function askClientPort(clientURL: string, tls: PeerTls, timeoutMs: number): Promise<View> {
  return parseGatewayMemberList(await call(new URL('/v3/cluster/member/list', clientURL), tls, timeoutMs, '{"linearizable":false}'));
}

/** A member's membership over its peer port, answered before it is ready (bootstrapping). */
export async function askPeerPort(peerURL: string, tls: PeerTls, timeoutMs: number): Promise<View> {
  const url = new URL('/members', peerURL);
  return { reportedBy: url.host, members: parsePeerMembers(await call(url, tls, timeoutMs)) };
}
