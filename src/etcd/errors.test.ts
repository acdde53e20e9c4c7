import { GRPCFailedPreconditionError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdAdminError, classify, grpcStatusOf } from './errors.js';

/** An error shaped as grpc-js builds it: the status code and details on a plain Error. */
function grpcError(code: number, name: string, details: string): Error {
  return Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });
}

describe('classify', () => {
  it.each([
    [5, 'NOT_FOUND', 'etcdserver: member not found', 'MemberNotFound', false],
    [9, 'FAILED_PRECONDITION', 'etcdserver: Peer URLs already exists', 'MemberExists', false],
    [9, 'FAILED_PRECONDITION', 'etcdserver: can only promote a learner member', 'MemberNotLearner', false],
    [9, 'FAILED_PRECONDITION', 'etcdserver: can only promote a learner member which is in sync with leader', 'LearnerNotReady', true],
    [9, 'FAILED_PRECONDITION', 'etcdserver: too many learner members in cluster', 'TooManyLearners', false],
    [9, 'FAILED_PRECONDITION', 'etcdserver: re-configuration failed due to not enough started members', 'UnhealthyCluster', true],
    [14, 'UNAVAILABLE', 'etcdserver: unhealthy cluster', 'UnhealthyCluster', true],
    [9, 'FAILED_PRECONDITION', 'etcdserver: not leader', 'NotLeader', true],
    [14, 'UNAVAILABLE', 'etcdserver: no leader', 'NoLeader', true],
    [9, 'FAILED_PRECONDITION', 'etcdserver: bad leader transferee', 'BadLeaderTransferee', false],
    [9, 'FAILED_PRECONDITION', 'etcdserver: rpc not supported for learner', 'NotSupportedForLearner', true],
    [14, 'UNAVAILABLE', 'etcdserver: request timed out', 'Unavailable', true],
    [14, 'UNAVAILABLE', 'No connection established. Last error: connect ECONNREFUSED', 'Unavailable', true],
    [4, 'DEADLINE_EXCEEDED', 'Deadline exceeded after 5.001s', 'DeadlineExceeded', true],
    [7, 'PERMISSION_DENIED', 'etcdserver: permission denied', 'PermissionDenied', false],
    [16, 'UNAUTHENTICATED', 'etcdserver: invalid auth token', 'Unauthenticated', false],
    [3, 'INVALID_ARGUMENT', 'etcdserver: given member URLs are invalid', 'InvalidArgument', false],
  ])('code %i %s %j -> %s', (code, name, details, kind, retryable) => {
    const err = classify(grpcError(code, name, details), { op: 'test' });
    expect(err).toMatchObject({ kind, retryable, grpcCode: code, detail: details });
  });

  it('identifies an etcd error by code and description together, never by the text alone', () => {
    const err = classify(grpcError(2, 'UNKNOWN', 'etcdserver: member not found'), { op: 'memberRemove' });
    expect(err.kind).toBe('Unknown');
  });

  it('reads the code from the class etcd3 turns grpc-js errors into', () => {
    expect(grpcStatusOf(new GRPCFailedPreconditionError('9 FAILED_PRECONDITION: etcdserver: not leader'))).toEqual({
      code: 9,
      details: 'etcdserver: not leader',
    });
    expect(classify(new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: no leader'), { op: 'status' }).kind).toBe('NoLeader');
  });

  it('marks only ambiguous failures of membership changes as maybe applied', () => {
    const timeout = grpcError(4, 'DEADLINE_EXCEEDED', 'Deadline exceeded');
    expect(classify(timeout, { op: 'memberAdd', mutating: true }).maybeApplied).toBe(true);
    expect(classify(timeout, { op: 'memberList' }).maybeApplied).toBe(false);
    const refused = grpcError(9, 'FAILED_PRECONDITION', 'etcdserver: too many learner members in cluster');
    expect(classify(refused, { op: 'memberAdd', mutating: true }).maybeApplied).toBe(false);
  });

  it('keeps anything without a gRPC status as Unknown, with the cause', () => {
    const cause = new TypeError('boom');
    const err = classify(cause, { op: 'status', endpoint: 'https://127.0.0.1:1' });
    expect(err).toBeInstanceOf(EtcdAdminError);
    expect(err).toMatchObject({ kind: 'Unknown', retryable: false, cause, endpoint: 'https://127.0.0.1:1' });
    expect(classify(err, { op: 'other' })).toBe(err);
  });

  // The details grpc-js gave for real handshakes with etcd 3.6 (test/integration/etcd-certificate-refusal.test.ts).
  const noConnection = (last: string) => `No connection established. Last error: ${last}. Resolution note: `;
  it.each([
    ['Error: certificate has expired', 'expired', 'certificate has expired'],
    ['Error: certificate is not yet valid', 'notYetValid', 'certificate is not yet valid'],
    ['Error: unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca', 'untrusted', 'unable to verify the first certificate'],
    ['Error: self-signed certificate', 'untrusted', 'self-signed certificate'],
    ['Error: unable to get local issuer certificate', 'untrusted', 'unable to get local issuer certificate'],
    ["Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: main-1.main-peer.default.svc.cluster.local. is not in the cert's altnames: DNS:localhost", 'wrongName', "Hostname/IP does not match certificate's altnames"],
    ['Error: unsuitable certificate purpose', 'unusable', 'unsuitable certificate purpose'],
    ['405DF149967F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 48\n (2026-12-01T05:59:00.471Z)', 'clientRefused', 'unknown ca'],
    ['405DF149967F0000:error:0A000415:SSL routines:ssl3_read_bytes:ssl/tls alert certificate expired:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 45\n (2026-12-01T05:59:00.480Z)', 'clientRefused', 'certificate expired'],
    ['error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:ssl/record/rec_layer_s3.c:1605:SSL alert number 42', 'clientRefused', 'bad certificate'],
    ['error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:ssl/record/rec_layer_s3.c:1605:SSL alert number 116', 'clientRefused', 'certificate required'],
  ])('a handshake that failed with %j -> CertificateRefused %s', (last, fault, words) => {
    const err = classify(new GRPCUnavailableError(`14 UNAVAILABLE: ${noConnection(last)}`), { op: 'status', endpoint: 'https://10.0.0.1:2379', mutating: true });
    expect(err).toMatchObject({ kind: 'CertificateRefused', certificate: { fault, words }, retryable: true, maybeApplied: false, grpcCode: 14 });
  });

  it.each([
    [14, 'UNAVAILABLE', noConnection('Error: connect ECONNREFUSED 10.0.0.1:2379'), 'Unavailable'],
    [14, 'UNAVAILABLE', noConnection('Error: read ECONNRESET'), 'Unavailable'],
    // Only a failed connection: the same words inside an answer etcd sent are not a handshake.
    [2, 'UNKNOWN', 'certificate has expired', 'Unknown'],
    [14, 'UNAVAILABLE', 'etcdserver: certificate has expired', 'Unavailable'],
  ])('not a certificate refusal: code %i %s %j -> %s', (code, name, details, kind) => {
    expect(classify(grpcError(code, name, details), { op: 'status' })).toMatchObject({ kind, certificate: undefined });
  });
});
