import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { FakeClock } from './clock.js';
import { LeaderElector } from './leader-election.js';
import { LeadershipLostError } from './pass-scope.js';

describe('the lease fence', () => {
  it('lets writes through only within the renew deadline of the last renewal begun', async () => {
    // An in-process stand-in for the Lease endpoint: none exists, so the elector creates it.
    const server = http.createServer((req, res) => {
      res.writeHead(req.method === 'GET' ? 404 : 201, { 'Content-Type': 'application/json' });
      res.end(req.method === 'GET' ? '{"kind":"Status","code":404}' : '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const clock = new FakeClock();
    clock.advance(1_000_000);
    const elector = new LeaderElector({ kc, namespace: 'ns', name: 'lease', identity: 'me', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, log: winston.createLogger({ silent: true }), clock });
    try {
      expect(() => elector.fence()).toThrow(LeadershipLostError);
      expect(await elector.acquire(new AbortController().signal)).toBe(true);
      expect(() => elector.fence()).not.toThrow();
      clock.advance(9_999);
      expect(() => elector.fence()).not.toThrow();
      // A process stalled past the deadline is refused at once, before any renewal could run.
      clock.advance(1);
      expect(() => elector.fence()).toThrow(/renewed too long ago/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
