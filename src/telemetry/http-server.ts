import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';

export interface Response {
  status: number;
  body: string;
  contentType?: string;
}

export type Routes = Record<string, () => Response | Promise<Response>>;

export interface RunningServer {
  /** `host:port` actually bound (the port is chosen by the kernel when 0 was asked for). */
  address: string;
  close(): Promise<void>;
}

/** Serves GET `routes` on `bindAddress` (`host:port`); logs the bound address for tests and humans. */
export async function serve(name: string, bindAddress: string, routes: Routes, log: Logger): Promise<RunningServer> {
  const colon = bindAddress.lastIndexOf(':');
  const host = bindAddress.slice(0, colon) || '0.0.0.0';
  const port = Number(bindAddress.slice(colon + 1));
  const server = http.createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (!route || req.method !== 'GET') {
      res.writeHead(404).end('not found\n');
      return;
    }
    Promise.resolve()
      .then(route)
      .then(
        (r) => res.writeHead(r.status, { 'Content-Type': r.contentType ?? 'text/plain; charset=utf-8' }).end(r.body),
        (err: unknown) => {
          log.error('HTTP handler failed', { server: name, path: req.url, error: String(err) });
          res.writeHead(500).end('internal error\n');
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host.replace(/^\[|\]$/g, ''), resolve);
  });
  const bound = server.address() as AddressInfo;
  const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log.info('serving', { server: name, address });
  return {
    address,
    close: () => new Promise((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}
