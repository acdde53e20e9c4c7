/**
 * The start guard's word on a member it holds, asked before the operator replaces that member as
 * lost. Its pod's status alone (the guard container running past its grace) is not enough: the
 * pod cache can lag behind the kubelet, and a healthy member whose etcd had started while its
 * health check timed out under load was once removed as "its volume is empty". The guard answers
 * `GET /member-init` on the metrics port of the pod's IP while it waits
 * (src/member-init/status-server.ts) and names the member whose data the volume lost.
 */
import { request } from 'node:http';
import { guardStatusPath, ports } from '../resources/names.js';

export type GuardAnswer =
  /** The guard answered: it waits, and names the member whose data the volume lost, if it found that. */
  | { kind: 'holding'; reason: string; lostMember?: string }
  /** Something other than the guard answered on the port (etcd's metrics listener): etcd runs there. */
  | { kind: 'other'; detail: string }
  /** Nothing listens on the port: neither the guard nor etcd. */
  | { kind: 'nothing' }
  /** No answer in time, or an error that says nothing of who is there. */
  | { kind: 'silent'; detail: string };

export type AskGuard = (host: string) => Promise<GuardAnswer>;

/** Reads one answer body as the guard's, or says it is not one. Pure. */
export function readGuardAnswer(statusCode: number | undefined, body: string): GuardAnswer {
  if (statusCode !== 200) return { kind: 'other', detail: `HTTP ${statusCode ?? '?'} on ${guardStatusPath}` };
  try {
    const parsed = JSON.parse(body) as { guard?: unknown; reason?: unknown; lostMember?: unknown };
    if (parsed.guard !== 'member-init' || typeof parsed.reason !== 'string') return { kind: 'other', detail: 'an answer that is not the guard\'s' };
    return { kind: 'holding', reason: parsed.reason, ...(typeof parsed.lostMember === 'string' ? { lostMember: parsed.lostMember } : {}) };
  } catch {
    return { kind: 'other', detail: 'an answer that is not JSON' };
  }
}

/** Asks over plain HTTP, within timeoutMs; never throws. */
export function askGuardOverHttp(timeoutMs = 1_000, port: number = ports.metrics): AskGuard {
  return (host) =>
    new Promise<GuardAnswer>((resolve) => {
      const req = request({ host, port, path: guardStatusPath, method: 'GET', timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // The guard's answer is a few hundred bytes; anything longer is not the guard.
          if (body.length < 16_384) body += chunk;
        });
        res.on('end', () => resolve(readGuardAnswer(res.statusCode, body)));
        res.on('error', (err) => resolve({ kind: 'silent', detail: err.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? { kind: 'nothing' } : { kind: 'silent', detail: err.message }));
      req.end();
    });
}

export type GuardProof = { proven: true; reason: string } | { proven: false; why: string };

/**
 * Whether the answer proves that the member's volume lost its data. Proven: the guard holds it and
 * names this very member as lost. A guard from before this check (legacyGuard: the pod runs
 * another guard image, which cannot answer) proves it by nothing listening on the port: etcd,
 * had it started, would answer there. Pure.
 */
export function guardProof(memberId: string, answer: GuardAnswer | undefined, legacyGuard: boolean): GuardProof {
  if (!answer) return { proven: false, why: 'the guard was not asked (the pod has no IP)' };
  switch (answer.kind) {
    case 'holding':
      if (answer.lostMember === memberId) return { proven: true, reason: answer.reason };
      return { proven: false, why: answer.lostMember ? `the guard names member ${answer.lostMember}, not this one` : `the guard waits for another reason: ${answer.reason}` };
    case 'other':
      return { proven: false, why: `the guard's port answers with ${answer.detail}, so etcd runs in the pod and its status is behind` };
    case 'nothing':
      return legacyGuard ? { proven: true, reason: 'nothing answers on the metrics port (a guard image from before guards answered)' } : { proven: false, why: 'nothing answers on the guard\'s port' };
    case 'silent':
      return { proven: false, why: `the guard did not answer (${answer.detail})` };
  }
}
