import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError, kubeRequest, userAgent, watchStream } from './kube-http.js';
import { LeadershipLostError, runInPass } from './pass-scope.js';

/** An in-process HTTP server standing in for the API server's transport (no process started). */
async function serve(handler: http.RequestListener): Promise<{ kc: KubeConfig; requests: http.IncomingMessage[]; connections: Socket[]; close: () => Promise<void> }> {
  const requests: http.IncomingMessage[] = [];
  const connections: Socket[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.on('connection', (socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return { kc, requests, connections, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('kubeRequest', () => {
  it('names itself with a User-Agent', async () => {
    const s = await serve((_req, res) => json(res, 200, {}));
    close = s.close;
    await kubeRequest(s.kc, '/api');
    expect(s.requests[0]!.headers['user-agent']).toBe(userAgent);
    expect(userAgent).toMatch(/^etcd-operator\/v\d+\.\d+\.\d+ \(linux\/\w+\) node\/v\d+/);
  });

  it('sends a request refused with 429 again after Retry-After, and reports the last refusal', async () => {
    let refusals = 2;
    const s = await serve((_req, res) => (refusals-- > 0 ? json(res, 429, { reason: 'TooManyRequests' }, { 'Retry-After': '0' }) : json(res, 200, { ok: true })));
    close = s.close;
    await expect(kubeRequest(s.kc, '/api', { method: 'PATCH', body: {} })).resolves.toEqual({ ok: true });
    expect(s.requests).toHaveLength(3);

    const always = await serve((_req, res) => json(res, 429, { reason: 'TooManyRequests', message: 'slow down' }, { 'Retry-After': '0' }));
    const first = close;
    close = async () => {
      await first();
      await always.close();
    };
    const err = await kubeRequest(always.kc, '/api').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ statusCode: 429, retryAfterMs: 0 });
    expect(always.requests).toHaveLength(4);
  });

  it('keeps its connection to the API server from one request to the next', async () => {
    const s = await serve((_req, res) => json(res, 200, {}));
    close = s.close;
    for (let i = 0; i < 5; i++) await kubeRequest(s.kc, '/api', i % 2 ? { method: 'PATCH', body: {} } : {});
    // client-node's agent kept nothing: five requests, five connections (and five TLS handshakes).
    expect(s.requests).toHaveLength(5);
    expect(s.connections).toHaveLength(1);
    // The same kubeconfig loaded again shares the connection.
    const again = new KubeConfig();
    again.loadFromString(s.kc.exportConfig());
    await kubeRequest(again, '/api');
    expect(s.connections).toHaveLength(1);
  });

  it('sends a read once more on a new connection when the kept one is closed as it is taken, and not a write', async () => {
    let served = 0;
    // Answers the first request on each connection and drops the connection at the second.
    const s = await serve((req, res) => {
      const socket = req.socket as Socket & { answered?: boolean };
      if (socket.answered) {
        socket.destroy();
        return;
      }
      socket.answered = true;
      served++;
      json(res, 200, { n: served });
    });
    close = s.close;
    await expect(kubeRequest(s.kc, '/api')).resolves.toEqual({ n: 1 });
    await expect(kubeRequest(s.kc, '/api')).resolves.toEqual({ n: 2 });
    expect(s.connections).toHaveLength(2);
    await expect(kubeRequest(s.kc, '/api', { method: 'PATCH', body: {} })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(s.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET', 'PATCH']);
  });

  it('gives up at its deadline when the server never answers', async () => {
    const s = await serve(() => undefined);
    close = s.close;
    const started = Date.now();
    await expect(kubeRequest(s.kc, '/api', { timeoutMs: 200 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('inside a pass, sends no write once the fence refuses, and still reads', async () => {
    const s = await serve((_req, res) => json(res, 200, {}));
    close = s.close;
    const deposed = { signal: new AbortController().signal, fence: () => { throw new LeadershipLostError('lease gone'); } };
    await runInPass(deposed, async () => {
      await expect(kubeRequest(s.kc, '/api/v1/namespaces/x/configmaps/y', { method: 'PATCH', body: {} })).rejects.toBeInstanceOf(LeadershipLostError);
      await expect(kubeRequest(s.kc, '/api')).resolves.toEqual({});
    });
    expect(s.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('inside a pass that was aborted, sends nothing', async () => {
    const s = await serve((_req, res) => json(res, 200, {}));
    close = s.close;
    const aborted = new AbortController();
    aborted.abort(new Error('leadership lost'));
    await runInPass({ signal: aborted.signal, fence: () => undefined }, async () => {
      await expect(kubeRequest(s.kc, '/x', { method: 'DELETE' })).rejects.toBeInstanceOf(LeadershipLostError);
      await expect(kubeRequest(s.kc, '/x')).rejects.toThrow();
    });
    expect(s.requests).toHaveLength(0);
  });
});

describe('watchStream', () => {
  it('ends a watch that delivers nothing for its idle bound', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
    });
    close = s.close;
    await expect(watchStream(s.kc, '/api/v1/pods?watch=1', () => undefined, new AbortController().signal, 150)).rejects.toThrow(/delivered nothing/);
  });

  it('keeps a watch that delivers events, and resolves when the server ends it', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { n } })}\n`);
        if (++n === 4) {
          clearInterval(timer);
          res.end();
        }
      }, 60);
    });
    close = s.close;
    const seen: unknown[] = [];
    await watchStream(s.kc, '/api/v1/pods?watch=1', (e) => seen.push(e), new AbortController().signal, 150);
    expect(seen).toHaveLength(4);
  });
});
