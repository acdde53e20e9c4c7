import { type ChannelCredentials, credentials as grpcCredentials } from '@grpc/grpc-js';
import { Etcd3, type IOptions } from 'etcd3';
import { ParseMemo } from '../pki/parse-memo.js';
import type { EtcdTls } from './types.js';

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * A fault-handling policy that runs the call exactly once. etcd3's default retries recoverable
 * errors three times on other hosts and trips a circuit breaker per host; a retried MemberAdd or
 * MemberRemove could apply twice or hide what happened, so every call here goes out once and
 * retries are decided above, for reads only.
 */
const sendOnce: FaultPolicy = {
  _altReturn: undefined as never,
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  async execute(fn, signal) {
    return fn({ signal: signal ?? new AbortController().signal });
  },
};

/**
 * One set of gRPC credentials per TLS material, shared by every client dialled with it. Given
 * the PEMs, etcd3 builds its own credentials per client, and with them an OpenSSL context (the
 * CA store, the key, the chain: CPU to build and native memory that only a full V8 collection
 * frees once the client is closed and dropped). A settled cluster's client is closed after each
 * pass and dialled again on the next, so 200 clusters left 200 such contexts a minute as garbage
 * (bench/HISTORY.md, many clusters, rounds five and six). Keyed by the PEMs' digest; the least
 * recently used goes first (a renewed certificate's old material, a deleted cluster's).
 */
const channelCredentials = new ParseMemo<ChannelCredentials>(1024);

export function credentialsFor(tls: EtcdTls): ChannelCredentials {
  return channelCredentials.get([tls.caPem, tls.certPem, tls.keyPem], () =>
    grpcCredentials.createSsl(Buffer.from(tls.caPem), Buffer.from(tls.keyPem), Buffer.from(tls.certPem)),
  );
}

/**
 * grpc-js pools connections across clients whose target, options and credentials are equal.
 * Shared credentials would make equal ones of every client dialled to the same member, so a
 * client would share (and its reset after a transport error would not leave) another's
 * connection, a snapshot stream's included. A number of its own per client keeps each client's
 * connections its own, as they were with credentials of its own; its services still share one.
 */
let dials = 0;

/** What `connectEndpoint` reaches into: etcd3 1.1.x's pool of hosts, each dialled lazily with `channelCredentials`. */
interface PoolInternals {
  pool?: { hosts?: { channelCredentials?: unknown }[] };
}

/**
 * An etcd3 client bound to one endpoint, so each call reaches the member we chose (the leader
 * for changes, a given member for its status). etcd3 connects lazily and, after a transport
 * error, drops the channel so the next call dials afresh rather than waiting out gRPC's backoff.
 */
export function connectEndpoint(endpoint: string, tls: EtcdTls, serverName?: string): Etcd3 {
  const client = new Etcd3({
    // Without the scheme and without `credentials`, etcd3 makes plain credentials (no OpenSSL
    // context); the shared TLS ones replace them below, before anything is dialled.
    hosts: [endpoint.replace(/^https:\/\//, '')],
    grpcOptions: {
      // Reaching a member by pod IP while verifying the DNS name its certificate carries.
      ...(serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
      // No channelz server reads them: without it grpc-js keeps no per-channel registry entries,
      // traces and call counters, on every dial and every call.
      'grpc.enable_channelz': 0,
      'etcd-operator.client': ++dials,
    },
    faultHandling: { host: () => sendOnce, global: sendOnce },
  });
  const hosts = (client as unknown as PoolInternals).pool?.hosts;
  if (hosts?.length !== 1 || !('channelCredentials' in hosts[0]!)) {
    client.close();
    throw new Error('etcd3 no longer keeps its hosts where connectEndpoint sets their TLS credentials (pool.hosts[].channelCredentials)');
  }
  hosts[0].channelCredentials = credentialsFor(tls);
  return client;
}

/** Per-call options: every call carries a deadline. */
export function deadline(timeoutMs: number): { deadline: number } {
  return { deadline: Date.now() + timeoutMs };
}
