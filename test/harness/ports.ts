import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryLock } from './lock-file.js';

/**
 * Ports for the listeners the harness starts. Other programs may hold etcd's and Kubernetes'
 * usual ports, and a port is bound some seconds after it is picked, so a port is:
 * - below the kernel's ephemeral range (32768 and up here), where no outgoing connection takes it
 *   meanwhile, as one could take a port that `listen(0)` handed out a moment before;
 * - locked by a file naming this process, so no other test run on this machine picks it too;
 * - free when it is handed out (nothing listens on it).
 */
const first = 20_000;
const count = 12_000;
const lockDir = join(tmpdir(), 'etcd-operator-test-ports');
const handedOut = new Set<string>();

function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  mkdirSync(lockDir, { recursive: true });
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const port = first + ((start + i) % count);
    const key = `${host}:${port}`;
    if (handedOut.has(key) || !tryLock(join(lockDir, key))) continue;
    handedOut.add(key);
    if (await bindable(host, port)) return port;
  }
  throw new Error(`no free port on ${host} in ${first}-${first + count - 1}`);
}

export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) ports.push(await freePort(host));
  return ports;
}
