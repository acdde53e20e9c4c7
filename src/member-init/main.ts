/**
 * The start guard: the init container of every member pod (the operator's image, no shell). It
 * exits 0 when etcd may start on this volume and waits, polling, while it may not (see
 * `decide.ts`). It never exits non-zero for a refusal: a crash loop would only add backoff to
 * the moment the operator re-adds the member. Usage errors exit 2.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../api/duration.js';
import { ports } from '../resources/names.js';
import { type GuardInput, type Verdict, decide } from './decide.js';
import { type View, askClientPort, askPeerPort } from './member-list.js';
import { type StatusServer, serveGuardStatus } from './status-server.js';
import { readWalIdentity } from './wal.js';

export interface GuardOptions {
  dataDir: string;
  peerURL: string;
  /** `name=peerURL,...` as etcd's --initial-cluster: the members to ask. */
  initialCluster: string;
  state: 'new' | 'existing';
  /** Directory with ca.crt, tls.crt and tls.key (the peer certificate, which may act as a client). */
  tlsDir: string;
  pollMs: number;
  callTimeoutMs: number;
  /** The pod's IP (env POD_IP): where the guard says why it waits (status-server.ts). */
  statusHost?: string;
  /** Default: the metrics port, which etcd takes once the guard lets it start. */
  statusPort?: number;
}

/** etcd's own test for existing data: the WAL directory holds a `.wal` file. */
export function hasWal(dataDir: string): boolean {
  const wal = join(dataDir, 'member', 'wal');
  return existsSync(wal) && readdirSync(wal).some((f) => f.endsWith('.wal'));
}

/** The peer URLs of the other members named in an --initial-cluster value. */
function otherPeers(initialCluster: string, ownPeerURL: string): string[] {
  const urls = new Set<string>();
  for (const entry of initialCluster.split(',')) {
    const peer = entry.slice(entry.indexOf('=') + 1).trim();
    if (peer && peer !== ownPeerURL) urls.add(new URL(peer).origin);
  }
  return [...urls];
}

/** A member's client URL: its peer host at the client port the operator gives every member. */
const clientPortOf = (peerURL: string): string => Object.assign(new URL(peerURL), { port: String(ports.client) }).origin;

/** The client URLs of the other members named in an --initial-cluster value. */
export function peerClientUrls(initialCluster: string, ownPeerURL: string): string[] {
  return otherPeers(initialCluster, ownPeerURL).map(clientPortOf);
}

/**
 * One member list per member that answers (serializable: needs no quorum); no answer is no view.
 * Bootstrapping asks the peer port, joining the client port: see member-list.ts for why.
 */
async function views(options: GuardOptions, clientURLOf: (peerURL: string) => string, timeoutMs = options.callTimeoutMs): Promise<GuardInput['views']> {
  const tls = { caPem: readFileSync(join(options.tlsDir, 'ca.crt'), 'utf8'), certPem: readFileSync(join(options.tlsDir, 'tls.crt'), 'utf8'), keyPem: readFileSync(join(options.tlsDir, 'tls.key'), 'utf8') };
  const ask = (peer: string) => (options.state === 'new' ? askPeerPort(peer, tls, timeoutMs) : askClientPort(clientURLOf(peer), tls, timeoutMs));
  const answers = await Promise.all(otherPeers(options.initialCluster, options.peerURL).map((peer): Promise<View | undefined> => ask(peer).catch(() => undefined)));
  return answers.filter((a) => a !== undefined);
}

/** JSON lines on stdout as the operator logs them, without loading winston on every member's start. */
export type GuardLog = (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void;
const jsonLines: GuardLog = (level, message, fields) => console.log(JSON.stringify({ level, message, ...fields, timestamp: new Date().toISOString() }));

/**
 * With data, the members are asked only whether the log is a removed member's, briefly: a member
 * restarting with its cluster (nobody answers before a quorum) starts on its data as before.
 */
const withDataTimeoutMs = 500;

/** One look: the volume, the members that answer, and the rule. Tests place client ports themselves. */
export async function check(options: GuardOptions, clientURLOf = clientPortOf): Promise<Verdict> {
  const hasData = hasWal(options.dataDir);
  const wal = hasData ? readWalIdentity(options.dataDir) : undefined;
  const asked = hasData ? (wal ? await views(options, clientURLOf, Math.min(withDataTimeoutMs, options.callTimeoutMs)) : []) : await views(options, clientURLOf);
  return decide({ hasData, walMemberId: wal?.memberId, state: options.state, peerURL: options.peerURL, views: asked });
}

/** A removed member's log goes; etcd's data directory is `member/` under --data-dir. */
export function discardLog(dataDir: string): void {
  rmSync(join(dataDir, 'member'), { recursive: true, force: true });
}

/**
 * What a volume without a write-ahead log still holds under `member/` (a bbolt file, snapshots),
 * moved beside the data directory so etcd starts on nothing. etcd, started without a WAL, opens a
 * `member/snap/db` left there and takes its consistent index as applied: a database from another
 * history (a volume whose log alone was lost after a restore, or one copied from another cluster)
 * makes the new member skip the cluster's entries up to that index. Seen with etcd 3.6.16: a
 * learner on a leftover database at index 304 logged "restore consistentIndex 304" and never
 * published itself ("failed to publish local member ... request timed out", every 7 s). Moved
 * aside, not deleted: without a log it is nothing etcd can use, but it may be someone's last copy.
 * Returns where it went, or undefined when there was nothing to move.
 */
export function setAsideLeftovers(dataDir: string, now = new Date()): string | undefined {
  const member = join(dataDir, 'member');
  if (hasWal(dataDir) || !existsSync(member) || readdirSync(member).length === 0) return undefined;
  const aside = join(dirname(dataDir), `member-without-wal-${now.toISOString().replace(/[:.]/g, '-')}`);
  renameSync(member, aside);
  return aside;
}

/**
 * For this long after its first refusal the guard looks again every quickPollMs rather than
 * every --poll-interval: a pod the operator starts ahead of its member's add (a scale-up starts
 * the pods of every member still to add, src/controller/membership.ts) waits here through etcd's
 * refusal window and the learners before it, and its etcd should start within a fraction of a
 * second of the add, not up to a second later. Past the window (a member held for lost data, a
 * scale-up blocked on a person), the slower interval spares the peers: each look is one member
 * list per peer.
 */
export const quickPollMs = 150;
export const quickPollWindowMs = 60_000;

/** The wait before the next look, `waitedMs` after the guard first refused. Pure. */
export function nextPollMs(pollMs: number, waitedMs: number): number {
  return waitedMs < quickPollWindowMs ? Math.min(pollMs, quickPollMs) : pollMs;
}

export async function runGuard(options: GuardOptions, log: GuardLog = jsonLines, clientURLOf = clientPortOf): Promise<void> {
  let last = '';
  let firstRefusal: number | undefined;
  // Opened at the first wait only: a guard that lets etcd start at once binds nothing.
  let status: StatusServer | undefined;
  for (;;) {
    const verdict = await check(options, clientURLOf);
    if (verdict.start) {
      const aside = setAsideLeftovers(options.dataDir);
      if (aside) log('warn', 'moved what a volume without a write-ahead log held aside, so etcd starts on an empty data directory', { movedTo: aside });
      // etcd binds the metrics port next.
      await status?.close();
      log('info', 'etcd may start on this volume', { reason: verdict.reason });
      return;
    }
    status ??= await serveGuardStatus(options.statusHost, options.statusPort ?? ports.metrics, log);
    status.update(verdict);
    if (verdict.discard) {
      log('warn', 'discarding a removed member\'s log', { reason: verdict.reason });
      discardLog(options.dataDir);
      continue;
    }
    if (verdict.reason !== last) log('warn', 'etcd must not start on this volume yet', { reason: verdict.reason });
    last = verdict.reason;
    firstRefusal ??= Date.now();
    await new Promise((resolve) => setTimeout(resolve, nextPollMs(options.pollMs, Date.now() - firstRefusal!)));
  }
}

function durationFlag(text: string): number {
  const ms = parseDuration(text.trim());
  if (ms === undefined) throw new Error(`invalid duration ${JSON.stringify(text)} (use e.g. 500ms, 15s, 10m)`);
  return ms;
}

export function parseGuardArgs(argv: string[], env: NodeJS.ProcessEnv = {}): GuardOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'data-dir': { type: 'string' },
      'peer-url': { type: 'string' },
      'initial-cluster': { type: 'string' },
      'initial-cluster-state': { type: 'string' },
      'tls-dir': { type: 'string' },
      'poll-interval': { type: 'string', default: '1s' },
      'call-timeout': { type: 'string', default: '2s' },
    },
  });
  const need = (name: keyof typeof values): string => {
    const v = values[name];
    if (typeof v !== 'string' || v === '') throw new Error(`--${name} is required`);
    return v;
  };
  const state = need('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') throw new Error(`--initial-cluster-state must be new or existing, not ${JSON.stringify(state)}`);
  return {
    dataDir: need('data-dir'),
    peerURL: need('peer-url'),
    initialCluster: need('initial-cluster'),
    state,
    tlsDir: need('tls-dir'),
    pollMs: durationFlag(need('poll-interval')),
    callTimeoutMs: durationFlag(need('call-timeout')),
    statusHost: env.POD_IP || undefined,
  };
}
