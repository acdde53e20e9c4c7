import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFixture, fakeCluster } from '../agent/fixtures.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { type ManagedProcess, isAlive, startProcess } from '../harness/process.js';
import { waitFor } from '../harness/wait.js';

const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const pidOf = (pod: V1Pod) => Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('local-agent://', ''));
const statusField = (pid: number, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

// The agent as the demo runs it, a process of its own: how fast 3 members come up from the
// StatefulSet's creation (several rounds), what the agent costs in memory, and a clean SIGTERM.
describe('local node agent as a process', () => {
  let cp: ControlPlane;
  let agent: ManagedProcess;
  let core: CoreV1Api;

  beforeAll(async () => {
    cp = await startControlPlane('agent-cli');
    core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const dir = join(cp.dir, 'agent');
    mkdirSync(dir);
    const main = join(repoRoot, 'test', 'agent', 'main.ts');
    agent = startProcess('local-agent', process.execPath, ['--import', 'tsx', main, '--kubeconfig', cp.kubeconfigPath, '--dir', dir], { logDir: cp.dir });
    await waitFor('the agent registers its node', async () => (await core.readNode({ name: 'local-agent' })).metadata?.name, { process: agent });
  });
  afterAll(async () => {
    await agent?.stop(15_000);
    await cp?.stop();
  });

  let lastPods: V1Pod[] = [];

  it('brings 3 members from StatefulSet creation to Ready, round after round', async () => {
    const times: number[] = [];
    for (const round of [0, 1, 2]) {
      const ns = `round-${round}`;
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await waitFor('default service account', async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: ns })).metadata?.name);
      const fx = await clusterFixture(fakeCluster('demo', ns), 3);
      const createdAt = Date.now();
      const apply = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: fx.objects }) });
      expect(apply.code, apply.stderr).toBe(0);
      lastPods = await waitFor('3 Ready pods', async () => {
        const list = (await core.listNamespacedPod({ namespace: ns })).items;
        return list.length === 3 && list.every(isReady) ? list : undefined;
      }, { timeoutMs: 90_000, intervalMs: 100, process: agent });
      times.push(Date.now() - createdAt);
      // Earlier rounds go away with their namespace: the agent stops their members.
      if (round < 2) await core.deleteNamespace({ name: ns });
    }
    const median = [...times].sort((a, b) => a - b)[1]!;
    const rssKb = statusField(agent.pid, 'VmRSS');
    const peakKb = statusField(agent.pid, 'VmHWM');
    console.log(`StatefulSet creation -> 3/3 Ready: ${times.join(', ')} ms (median ${median} ms); agent RSS ${Math.round(rssKb / 1024)} MiB (peak ${Math.round(peakKb / 1024)} MiB) with 3 pods running`);
    expect(median).toBeLessThan(60_000);
  });

  it('stops every member on SIGTERM and exits cleanly', async () => {
    const pids = lastPods.map(pidOf);
    expect(pids.every(isAlive)).toBe(true);
    await agent.stop(20_000);
    expect(await agent.exited).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cp.dir);
  });
});
