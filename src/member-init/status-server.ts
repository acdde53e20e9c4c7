/**
 * The start guard's own account of why it waits, for the operator: `GET /member-init` on the
 * metrics port of the pod's IP, plain HTTP, while the guard runs (etcd is not running then, so the
 * port is free, and the guard frees it before etcd starts).
 *
 * Why the operator asks: its pod cache can lag. A pod whose status still shows the guard running
 * long after etcd started there (a busy kubelet, a slow watch) once looked like a volume found
 * empty, and a healthy member was removed as lost. The guard's answer is the evidence: it names
 * the member whose data this volume lost, and etcd answering on this port instead shows the status
 * was behind. It answers nothing else, carries nothing secret, and can never stop the guard: a
 * port it cannot bind is logged and the guard goes on without it.
 */
import { type Server, createServer } from 'node:http';
import { guardStatusPath } from '../resources/names.js';
import type { Verdict } from './decide.js';
import type { GuardLog } from './main.js';

/** The body of the answer; the operator reads it in src/controller/guard-evidence.ts. */
export interface GuardStatus {
  guard: 'member-init';
  /** Why etcd may not start yet (the guard's latest verdict). */
  reason: string;
  /** The member whose data this volume lost: it ran, and the volume is empty. */
  lostMember?: string;
  /** When the guard first waited. */
  since: string;
}

export interface StatusServer {
  update(verdict: Verdict): void;
  close(): Promise<void>;
}

const none: StatusServer = { update: () => undefined, close: () => Promise.resolve() };

export async function serveGuardStatus(host: string | undefined, port: number, log: GuardLog, since = new Date()): Promise<StatusServer> {
  if (!host) return none;
  let body: GuardStatus = { guard: 'member-init', reason: 'checking the volume', since: since.toISOString() };
  const server: Server = createServer((req, res) => {
    const found = req.method === 'GET' && req.url === guardStatusPath;
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json', connection: 'close' });
    res.end(found ? JSON.stringify(body) : '{}');
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', (err) => {
      log('warn', 'the guard cannot say why it waits (the operator will not take its hold as proof)', { address: `${host}:${port}`, error: err.message });
      resolve(false);
    });
    server.listen({ host, port, exclusive: true }, () => resolve(true));
  });
  if (!listening) return none;
  return {
    update(verdict) {
      if (verdict.start) return;
      body = { guard: 'member-init', reason: verdict.reason, ...(verdict.lostMember ? { lostMember: verdict.lostMember } : {}), since: since.toISOString() };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
