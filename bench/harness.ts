// Warm start time of the local control plane and the memory of its processes.
// Run: npx tsx bench/harness.ts [runs]   (prints JSON)
import { readFileSync } from 'node:fs';
import { startControlPlane } from '../test/harness/control-plane.js';
import { pinnedVersions } from '../test/harness/binaries.js';
import { median } from './stats.js';

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const startMs: number[] = [];
  let memory: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const cp = await startControlPlane('bench');
    startMs.push(Math.round(performance.now() - t0));
    if (i === runs - 1) {
      // Settle, then read the resident memory of each process.
      await new Promise((r) => setTimeout(r, 10_000));
      const names = ['etcd', 'kube-apiserver', 'kube-controller-manager'];
      memory = Object.fromEntries(cp.pids().map((pid, j) => [names[j] ?? String(pid), rssMiB(pid)]));
    }
    await cp.stop();
  }
  console.log(JSON.stringify({ versions: pinnedVersions, runs, startMs, medianStartMs: median(startMs), rssMiB: memory }, null, 2));
}

await main();
