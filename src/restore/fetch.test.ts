import { describe, expect, it } from 'vitest';
import { RestoreStepError, isTransient } from './fetch.js';

const withCode = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
const http = (status: number, name = 'S3ServiceException') => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('isTransient: which fetch failures run the restore pod again', () => {
  it.each([
    ['connection refused (the object store down for a moment)', withCode('ECONNREFUSED'), true],
    ['connection reset mid-stream', withCode('ECONNRESET'), true],
    ['DNS not answering', withCode('EAI_AGAIN'), true],
    ['an SDK timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    ['503 SlowDown', http(503, 'SlowDown'), true],
    ['500', http(500, 'InternalError'), true],
    ['429', http(429), true],
    ['a network error wrapped as the cause', Object.assign(new Error('fetch failed'), { cause: withCode('ECONNRESET') }), true],
    ['404 (verdict: the object is not there)', http(404, 'NoSuchKey'), false],
    ['403 (verdict: credentials rejected)', http(403, 'AccessDenied'), false],
    ['a checked verdict (digest mismatch, missing object, too new)', new RestoreStepError('SnapshotCorrupt: ...'), false],
    ['anything else (a bug, a full volume)', Object.assign(new Error('no space'), { code: 'ENOSPC' }), false],
  ] as const)('%s: %s', (_what, err, transient) => {
    expect(isTransient(err)).toBe(transient);
  });
});
