import { type Server, createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveGuardStatus } from '../member-init/status-server.js';
import { type GuardAnswer, askGuardOverHttp, readGuardAnswer } from './guard-evidence.js';

const host = '127.0.0.1';
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, host, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

describe('the start guard\'s answer', () => {
  it.each<[string, number | undefined, string, GuardAnswer['kind'], string | undefined]>([
    ['the guard, naming a lost member', 200, '{"guard":"member-init","reason":"empty","lostMember":"42","since":"x"}', 'holding', '42'],
    ['the guard, checking', 200, '{"guard":"member-init","reason":"checking the volume","since":"x"}', 'holding', undefined],
    ['etcd\'s metrics listener', 404, '404 page not found\n', 'other', undefined],
    ['another JSON answer', 200, '{"health":"true"}', 'other', undefined],
    ['a lost member that is not a string', 200, '{"guard":"member-init","reason":"r","lostMember":42}', 'holding', undefined],
    ['not JSON', 200, 'ok', 'other', undefined],
  ])('reads %s', (_case, status, body, kind, lostMember) => {
    const answer = readGuardAnswer(status, body);
    expect(answer.kind).toBe(kind);
    expect(answer.kind === 'holding' ? answer.lostMember : undefined).toBe(lostMember);
  });

  it('is served by the guard while it waits and read by the operator, over a real socket', async () => {
    const port = await freePort();
    const logged: string[] = [];
    const status = await serveGuardStatus(host, port, (_level, msg) => logged.push(msg));
    closers.push(() => status.close());
    const ask = askGuardOverHttp(1_000, port);
    expect(await ask(host)).toEqual({ kind: 'holding', reason: 'checking the volume' });
    status.update({ start: false, reason: 'the volume is empty but member 42 already ran', lostMember: '42' });
    expect(await ask(host)).toEqual({ kind: 'holding', reason: 'the volume is empty but member 42 already ran', lostMember: '42' });
    status.update({ start: false, reason: 'no member answers' });
    expect(await ask(host)).toEqual({ kind: 'holding', reason: 'no member answers' });
    // Closed before etcd starts: the port is free for etcd's metrics listener.
    await status.close();
    expect(await ask(host)).toEqual({ kind: 'nothing' });
    expect(logged).toEqual([]);
  });

  it('answers only its own path', async () => {
    const port = await freePort();
    const status = await serveGuardStatus(host, port, () => undefined);
    closers.push(() => status.close());
    const res = await fetch(`http://${host}:${port}/metrics`);
    expect(res.status).toBe(404);
  });

  it('never stops the guard: a port it cannot bind is logged, and no pod IP binds nothing', async () => {
    const taken = createTcpServer();
    const port = await listen(taken);
    const logged: string[] = [];
    const status = await serveGuardStatus(host, port, (_level, msg) => logged.push(msg));
    status.update({ start: false, reason: 'r', lostMember: '1' });
    await status.close();
    expect(logged).toEqual([expect.stringContaining('cannot say why it waits')]);
    const none = await serveGuardStatus(undefined, await freePort(), () => undefined);
    await none.close();
  });

  it('tells etcd answering, nothing listening and a silent port apart', async () => {
    const etcdLike = createServer((_req, res) => {
      res.writeHead(404);
      res.end('404 page not found\n');
    });
    expect((await askGuardOverHttp(1_000, await listen(etcdLike))(host)).kind).toBe('other');
    expect(await askGuardOverHttp(1_000, await freePort())(host)).toEqual({ kind: 'nothing' });
    // Accepts the connection and never answers.
    const sockets: import('node:net').Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    const port = await listen(silent);
    closers.push(() => sockets.forEach((s) => s.destroy()));
    expect(await askGuardOverHttp(200, port)(host)).toEqual({ kind: 'silent', detail: 'no answer within 200 ms' });
  });
});
