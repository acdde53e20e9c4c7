import { mkdirSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryLock } from '../harness/lock-file.js';

/** Lock files naming which process holds which loopback address, shared by every agent here. */
export const addressLockDir = join(tmpdir(), 'etcd-operator-agent-addresses');

/** Ports a pod's etcd binds on its address; all must be free before the address is handed out. */
export const requiredPorts = [2379, 2380, 2381];


function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Hands out pod addresses in 127/8 (routed to `lo` on Linux, so binding needs no setup). Each
 * agent starts at a random /24 within 127.64.0.0/10 so agents on one machine rarely meet; a lock
 * file per address makes it certain, and ports are checked because other programs may listen.
 */
export class AddressPool {
  private readonly held = new Set<string>();
  /** Index of this agent's first /24 among the 64*256 in 127.64.0.0/10. */
  private readonly base = Math.floor(Math.random() * 64 * 256);

  constructor() {
    mkdirSync(addressLockDir, { recursive: true });
  }

  async allocate(): Promise<string> {
    for (let block = 0; block < 64 * 256; block++) {
      const third = (this.base + block) % (64 * 256);
      for (let host = 2; host < 255; host++) {
        const ip = `127.${64 + Math.floor(third / 256)}.${third % 256}.${host}`;
        if (this.held.has(ip) || !tryLock(join(addressLockDir, ip))) continue;
        const free = await Promise.all(requiredPorts.map((p) => portFree(ip, p)));
        if (free.every(Boolean)) {
          this.held.add(ip);
          return ip;
        }
        unlinkSync(join(addressLockDir, ip));
      }
    }
    throw new Error('no free loopback address for a pod');
  }

  release(ip: string): void {
    if (!this.held.delete(ip)) return;
    try {
      unlinkSync(join(addressLockDir, ip));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  releaseAll(): void {
    for (const ip of [...this.held]) this.release(ip);
  }

  addresses(): string[] {
    return [...this.held];
  }
}
