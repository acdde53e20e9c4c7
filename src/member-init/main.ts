/**
 * The start guard: the init container of every member pod (the operator's image, no shell). It
 * exits 0 when etcd may start on this volume and waits, polling, while it may not (see
 * `decide.ts`). It never exits non-zero for a refusal: a crash loop would only add backoff to
 * the moment the operator re-adds the member. Usage errors exit 2.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDurationFlag } from '../config.js';
import { ports } from '../resources/names.js';
import { createLogger } from '../telemetry/logger.js';
import { type GuardInput, decide } from './decide.js';

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
}

/** etcd's own test for existing data: the WAL directory holds a `.wal` file. */
export function hasWal(dataDir: string): boolean {
  const wal = join(dataDir, 'member', 'wal');
  return existsSync(wal) && readdirSync(wal).some((f) => f.endsWith('.wal'));
}

/** The client URLs of the other members named in an --initial-cluster value. */
export function peerClientUrls(initialCluster: string, ownPeerURL: string): string[] {
  const urls = new Set<string>();
  for (const entry of initialCluster.split(',')) {
    const peer = entry.slice(entry.indexOf('=') + 1).trim();
    if (!peer || peer === ownPeerURL) continue;
    const url = new URL(peer);
    url.port = String(ports.client);
    urls.add(url.origin);
  }
  return [...urls];
}

/** One serializable member list per member that answers: needs no quorum, and no answer is no view. */
async function views(options: GuardOptions): Promise<GuardInput['views']> {
  // Loaded only for an empty volume: a member restarting on its data starts without gRPC's cost.
  const { EtcdAdminClient } = await import('../etcd/client.js');
  const tls = { caPem: readFileSync(join(options.tlsDir, 'ca.crt'), 'utf8'), certPem: readFileSync(join(options.tlsDir, 'tls.crt'), 'utf8'), keyPem: readFileSync(join(options.tlsDir, 'tls.key'), 'utf8') };
  const answers = await Promise.all(
    peerClientUrls(options.initialCluster, options.peerURL).map(async (endpoint) => {
      const admin = new EtcdAdminClient({ endpoints: [endpoint], tls, callTimeoutMs: options.callTimeoutMs });
      try {
        const list = await admin.memberList({ linearizable: false });
        return { reportedBy: list.reportedBy, members: list.members };
      } catch {
        return undefined;
      } finally {
        admin.close();
      }
    }),
  );
  return answers.filter((a) => a !== undefined);
}

export async function runGuard(options: GuardOptions, log = createLogger('info')): Promise<void> {
  let last = '';
  for (;;) {
    const hasData = hasWal(options.dataDir);
    const verdict = decide({ hasData, state: options.state, peerURL: options.peerURL, views: hasData ? [] : await views(options) });
    if (verdict.start) {
      log.info('etcd may start on this volume', { reason: verdict.reason });
      return;
    }
    if (verdict.reason !== last) log.warn('etcd must not start on this volume yet', { reason: verdict.reason });
    last = verdict.reason;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

export function parseGuardArgs(argv: string[]): GuardOptions {
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
    pollMs: parseDurationFlag(need('poll-interval')),
    callTimeoutMs: parseDurationFlag(need('call-timeout')),
  };
}
