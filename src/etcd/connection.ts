import { Etcd3, type IOptions } from 'etcd3';
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
 * An etcd3 client bound to one endpoint, so each call reaches the member we chose (the leader
 * for changes, a given member for its status). etcd3 connects lazily and, after a transport
 * error, drops the channel so the next call dials afresh rather than waiting out gRPC's backoff.
 */
export function connectEndpoint(endpoint: string, tls: EtcdTls, serverName?: string): Etcd3 {
  return new Etcd3({
    hosts: [endpoint],
    grpcOptions: {
      // Reaching a member by pod IP while verifying the DNS name its certificate carries.
      ...(serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
      // No channelz server reads them: without it grpc-js keeps no per-channel registry entries,
      // traces and call counters, on every dial and every call.
      'grpc.enable_channelz': 0,
    },
    credentials: {
      rootCertificate: Buffer.from(tls.caPem),
      certChain: Buffer.from(tls.certPem),
      privateKey: Buffer.from(tls.keyPem),
    },
    faultHandling: { host: () => sendOnce, global: sendOnce },
  });
}

/** Per-call options: every call carries a deadline. */
export function deadline(timeoutMs: number): { deadline: number } {
  return { deadline: Date.now() + timeoutMs };
}
