import {
  EtcdPermissionDeniedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCFailedPreconditionError,
  GRPCInvalidArgumentError,
  GRPCNotFoundError,
  GRPCOutOfRangeError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  GRPCUnknownError,
} from 'etcd3';

/** gRPC status codes we act on (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcCode = {
  Cancelled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  PermissionDenied: 7,
  FailedPrecondition: 9,
  OutOfRange: 11,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;

export type EtcdAdminErrorKind =
  | 'MemberNotFound'
  | 'MemberExists'
  | 'MemberNotLearner'
  | 'LearnerNotReady'
  | 'TooManyLearners'
  | 'UnhealthyCluster'
  | 'NotLeader'
  | 'NoLeader'
  | 'BadLeaderTransferee'
  | 'NotSupportedForLearner'
  | 'InvalidArgument'
  | 'Unavailable'
  | 'DeadlineExceeded'
  | 'PermissionDenied'
  | 'Unauthenticated'
  /** The revision asked for was compacted away (Compact, HashKV). */
  | 'Compacted'
  /** The revision asked for is ahead of the member's (HashKV on a member that lags). */
  | 'FutureRevision'
  /**
   * The TLS handshake failed on a certificate (see `certificate`): nothing was sent, and nothing
   * is known of the member's health, only that the operator and it do not trust each other now.
   */
  | 'CertificateRefused'
  | 'Unknown';

/**
 * Why a handshake failed on a certificate. The member's: `expired`, `notYetValid`, `untrusted`
 * (not signed by a CA the operator trusts), `wrongName` (does not name the address it was
 * reached at), `unusable` (any other verification failure). The operator's: `clientRefused`,
 * the member's TLS alert refusing the operator's client certificate.
 */
export type CertificateFault = 'expired' | 'notYetValid' | 'untrusted' | 'wrongName' | 'unusable' | 'clientRefused';

export interface CertificateRefusal {
  fault: CertificateFault;
  /** The words of OpenSSL's verify error or of the member's TLS alert ("unknown ca"). */
  words: string;
}

/**
 * Kinds that clear by themselves: a later pass may send the same request again, and a read may
 * be sent to another endpoint (a learner refuses reads another member serves).
 */
const retryableKinds: ReadonlySet<EtcdAdminErrorKind> = new Set<EtcdAdminErrorKind>([
  'LearnerNotReady',
  'UnhealthyCluster',
  'NotLeader',
  'NoLeader',
  'NotSupportedForLearner',
  'Unavailable',
  'DeadlineExceeded',
  // A renewed certificate, reloaded by etcd or by the operator, ends it.
  'CertificateRefused',
]);

/** Kinds after which a membership change may or may not have been applied. */
const ambiguousKinds: ReadonlySet<EtcdAdminErrorKind> = new Set<EtcdAdminErrorKind>(['Unavailable', 'DeadlineExceeded', 'Unknown']);

export interface EtcdAdminErrorInit {
  kind: EtcdAdminErrorKind;
  op: string;
  endpoint?: string;
  grpcCode?: number;
  /** etcd's error description, when etcd sent one. */
  detail?: string;
  mutating?: boolean;
  cause?: unknown;
  certificate?: CertificateRefusal;
}

export class EtcdAdminError extends Error {
  readonly kind: EtcdAdminErrorKind;
  /** The condition is expected to clear: the same request may be sent again on a later pass. */
  readonly retryable: boolean;
  /**
   * True for a membership change that failed in a way that does not say whether etcd applied it
   * (a deadline, a lost connection): observe the member list before deciding anything.
   */
  readonly maybeApplied: boolean;
  readonly op: string;
  readonly endpoint: string | undefined;
  readonly grpcCode: number | undefined;
  readonly detail: string | undefined;
  /** For `CertificateRefused`: which side refused which certificate. */
  readonly certificate: CertificateRefusal | undefined;

  constructor(init: EtcdAdminErrorInit) {
    const where = init.endpoint ? ` at ${init.endpoint}` : '';
    super(`etcd ${init.op}${where}: ${init.kind}${init.detail ? ` (${init.detail})` : ''}`, { cause: init.cause });
    this.name = 'EtcdAdminError';
    this.kind = init.kind;
    this.retryable = retryableKinds.has(init.kind);
    this.maybeApplied = (init.mutating ?? false) && ambiguousKinds.has(init.kind);
    this.op = init.op;
    this.endpoint = init.endpoint;
    this.grpcCode = init.grpcCode;
    this.detail = init.detail;
    this.certificate = init.certificate;
  }
}

/**
 * etcd names its server errors only by a fixed description under a gRPC code (its own Go client
 * maps them back the same way, in api/v3rpc/rpctypes). This table is the one place those
 * descriptions are matched, and only exactly and together with the code.
 */
const etcdServerErrors: ReadonlyArray<[code: number, description: string, kind: EtcdAdminErrorKind]> = [
  [GrpcCode.NotFound, 'etcdserver: member not found', 'MemberNotFound'],
  [GrpcCode.FailedPrecondition, 'etcdserver: member ID already exist', 'MemberExists'],
  [GrpcCode.FailedPrecondition, 'etcdserver: Peer URLs already exists', 'MemberExists'],
  [GrpcCode.FailedPrecondition, 'etcdserver: can only promote a learner member', 'MemberNotLearner'],
  [GrpcCode.FailedPrecondition, 'etcdserver: can only promote a learner member which is in sync with leader', 'LearnerNotReady'],
  [GrpcCode.FailedPrecondition, 'etcdserver: too many learner members in cluster', 'TooManyLearners'],
  [GrpcCode.FailedPrecondition, 'etcdserver: re-configuration failed due to not enough started members', 'UnhealthyCluster'],
  [GrpcCode.Unavailable, 'etcdserver: unhealthy cluster', 'UnhealthyCluster'],
  [GrpcCode.FailedPrecondition, 'etcdserver: not leader', 'NotLeader'],
  [GrpcCode.Unavailable, 'etcdserver: no leader', 'NoLeader'],
  [GrpcCode.FailedPrecondition, 'etcdserver: bad leader transferee', 'BadLeaderTransferee'],
  // etcd 3.6.16 sends this one as FailedPrecondition (seen against the real server); older
  // releases' rpctypes list it as Unavailable.
  [GrpcCode.FailedPrecondition, 'etcdserver: rpc not supported for learner', 'NotSupportedForLearner'],
  [GrpcCode.Unavailable, 'etcdserver: rpc not supported for learner', 'NotSupportedForLearner'],
  [GrpcCode.OutOfRange, 'etcdserver: mvcc: required revision has been compacted', 'Compacted'],
  [GrpcCode.OutOfRange, 'etcdserver: mvcc: required revision is a future revision', 'FutureRevision'],
];

/** Kinds that follow from the gRPC code alone, when etcd's description is not in the table. */
const kindByCode = new Map<number, EtcdAdminErrorKind>([
  [GrpcCode.InvalidArgument, 'InvalidArgument'],
  [GrpcCode.DeadlineExceeded, 'DeadlineExceeded'],
  [GrpcCode.PermissionDenied, 'PermissionDenied'],
  [GrpcCode.Unavailable, 'Unavailable'],
  [GrpcCode.Unauthenticated, 'Unauthenticated'],
]);

/**
 * etcd3 replaces grpc-js's error (dropping its `code`) by one class per status code, keeping the
 * message. The class gives the code; the message, in grpc-js's fixed `<code> <NAME>: <details>`
 * form, gives the details.
 */
const codeByClass: ReadonlyArray<[new (...args: never[]) => Error, number]> = [
  [GRPCCancelledError, GrpcCode.Cancelled],
  [GRPCUnknownError, GrpcCode.Unknown],
  [GRPCInvalidArgumentError, GrpcCode.InvalidArgument],
  [GRPCDeadlineExceededError, GrpcCode.DeadlineExceeded],
  [GRPCNotFoundError, GrpcCode.NotFound],
  [EtcdPermissionDeniedError, GrpcCode.PermissionDenied],
  [GRPCFailedPreconditionError, GrpcCode.FailedPrecondition],
  [GRPCOutOfRangeError, GrpcCode.OutOfRange],
  [GRPCUnavailableError, GrpcCode.Unavailable],
  [GRPCUnauthenticatedError, GrpcCode.Unauthenticated],
];

const grpcMessage = /^(\d+) [A-Z_]+: ([\s\S]*)$/;

/** The gRPC status code and details of an error from etcd3 or grpc-js, if it carries one. */
export function grpcStatusOf(err: unknown): { code: number; details: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  const parsed = grpcMessage.exec(err.message);
  const ownCode = (err as { code?: unknown }).code;
  const code = typeof ownCode === 'number' ? ownCode : codeByClass.find(([cls]) => err instanceof cls)?.[1] ?? Number(parsed?.[1]);
  if (!Number.isInteger(code)) return undefined;
  return { code, details: parsed?.[2] ?? err.message };
}

/**
 * A failed TLS handshake reaches us only as text: grpc-js reports it as UNAVAILABLE "No connection
 * established. Last error: <the Error's toString()>", dropping Node's code (CERT_HAS_EXPIRED,
 * ERR_TLS_CERT_ALTNAME_INVALID, ...). What is left to match is fixed text: OpenSSL's verify error
 * strings (X509_verify_cert_error_string), Node's ERR_TLS_CERT_ALTNAME_INVALID code in the
 * Error's name, and the TLS alert names OpenSSL prints for an alert the member sent. Seen against
 * etcd 3.6 with grpc-js 1.14 (test/integration/etcd-certificate-refusal.test.ts).
 */
const servedFaults: ReadonlyArray<[RegExp, CertificateFault]> = [
  [/\b(certificate has expired)\b/, 'expired'],
  [/\b(certificate is not yet valid)\b/, 'notYetValid'],
  [/\[ERR_TLS_CERT_ALTNAME_INVALID\]: (Hostname\/IP does not match certificate's altnames)/, 'wrongName'],
  [/\b(unable to verify the first certificate|unable to get local issuer certificate|unable to get issuer certificate|self[- ]signed certificate(?: in certificate chain)?)\b/, 'untrusted'],
  [/\b(certificate signature failure|unsuitable certificate purpose|certificate revoked|invalid CA certificate|certificate chain too long|path length constraint exceeded|format error in certificate's notAfter field|format error in certificate's notBefore field)\b/, 'unusable'],
];

/** The alert a member sends when it refuses the client certificate (OpenSSL prints "tlsv1 alert unknown ca"). */
const clientAlert = /\b(?:sslv3|tlsv1|tlsv13|ssl\/tls) alert (unknown ca|bad certificate|certificate expired|certificate required|certificate revoked|certificate unknown|unsupported certificate|access denied)\b/;

/** The certificate a failed connection was refused on, if that is why it failed. */
export function certificateRefusal(code: number, details: string): CertificateRefusal | undefined {
  if (code !== GrpcCode.Unavailable || !details.startsWith('No connection established')) return undefined;
  const alert = clientAlert.exec(details);
  if (alert) return { fault: 'clientRefused', words: alert[1]! };
  for (const [pattern, fault] of servedFaults) {
    const m = pattern.exec(details);
    if (m) return { fault, words: m[1]! };
  }
  return undefined;
}

/** Turns anything a call threw into an `EtcdAdminError`; anything unrecognised becomes `Unknown`. */
export function classify(err: unknown, context: { op: string; endpoint?: string; mutating?: boolean }): EtcdAdminError {
  if (err instanceof EtcdAdminError) return err;
  const status = grpcStatusOf(err);
  const base = { ...context, cause: err };
  if (!status) return new EtcdAdminError({ ...base, kind: 'Unknown', detail: err instanceof Error ? err.message : String(err) });
  const certificate = certificateRefusal(status.code, status.details);
  if (certificate) return new EtcdAdminError({ ...base, kind: 'CertificateRefused', grpcCode: status.code, detail: status.details, certificate });
  const known = etcdServerErrors.find(([code, description]) => code === status.code && description === status.details);
  const kind = known?.[2] ?? kindByCode.get(status.code) ?? 'Unknown';
  return new EtcdAdminError({ ...base, kind, grpcCode: status.code, detail: status.details });
}
