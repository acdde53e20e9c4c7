import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../agent/agent.js';
import { addressLockDir } from '../agent/addresses.js';
import { clusterFixture, fakeCluster, withClusterDns } from '../agent/fixtures.js';
import { memberClientUrl } from '../../src/resources/names.js';
import { etcdBinary } from '../harness/binaries.js';
import { type ControlPlane, processesUsing, startControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { isAlive } from '../harness/process.js';

const ns = 'agent-test';
const ref = { name: 'demo', namespace: ns };

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}


const pidOf = (pod: V1Pod) => Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('local-agent://', ''));
const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

// The agent plays kubelet, scheduler binding and volume provisioner for the operator's own
// StatefulSet, with no operator: real API server and controllers, real etcd members on mTLS.
describe('local node agent runs the operator StatefulSet', () => {
  let cp: ControlPlane;
  let agent: Agent;
  let core: CoreV1Api;
  let agentDir: string;
  let etcdctl: (args: string[], endpoints?: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

  beforeAll(async () => {
    cp = await startControlPlane('agent-sts');
    core = cp.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await waitFor('default service account', async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: ns })).metadata?.name);
    agentDir = join(cp.dir, 'agent');
    mkdirSync(agentDir);
    const log = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.File({ filename: join(cp.dir, 'agent.log') })] });
    agent = await startAgent({ kubeConfig: cp.kubeConfig(), dir: agentDir, log });
  });
  afterAll(async () => {
    await agent?.stop();
    await cp?.stop();
  });

  it('brings 3 members up Running and Ready on Bound volumes', async () => {
    const fx = await clusterFixture(fakeCluster(ref.name, ns), 3);
    const files = { ca: join(cp.dir, 'client-ca.crt'), cert: join(cp.dir, 'client.crt'), key: join(cp.dir, 'client.key') };
    writeFileSync(files.ca, fx.caPem);
    writeFileSync(files.cert, fx.client.certPem);
    writeFileSync(files.key, fx.client.keyPem, { mode: 0o600 });
    const allMembers = [0, 1, 2].map((o) => memberClientUrl(ref, o));
    etcdctl = (args, endpoints = allMembers) =>
      run(withClusterDns(agent.hostsFile, [etcdBinary('etcdctl'), `--cacert=${files.ca}`, `--cert=${files.cert}`, `--key=${files.key}`, `--endpoints=${endpoints.join(',')}`, '--command-timeout=10s', ...args]));

    const createdAt = Date.now();
    const apply = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: fx.objects }) });
    expect(apply.code, apply.stderr).toBe(0);
    const pods = await waitFor('3 Ready pods', async () => {
      const list = (await core.listNamespacedPod({ namespace: ns })).items;
      return list.length === 3 && list.every(isReady) ? list : undefined;
    }, { timeoutMs: 90_000, intervalMs: 200 });
    console.log(`StatefulSet created -> 3/3 Ready in ${Date.now() - createdAt} ms`);

    for (const pod of pods) {
      expect(pod.spec?.nodeName).toBe('local-agent');
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.podIP).toMatch(/^127\./);
      expect(pod.status?.podIP).not.toBe('127.0.0.1');
      const c = pod.status!.containerStatuses![0]!;
      expect({ ready: c.ready, started: c.started, restartCount: c.restartCount, running: Boolean(c.state?.running) }).toEqual({ ready: true, started: true, restartCount: 0, running: true });
      expect(pod.status?.conditions?.map((x) => `${x.type}=${x.status}`).sort()).toEqual(
        ['ContainersReady=True', 'Initialized=True', 'PodReadyToStartContainers=True', 'PodScheduled=True', 'Ready=True'],
      );
      // etcd runs as the pod's user, not root.
      expect(readFileSync(`/proc/${pidOf(pod)}/status`, 'utf8')).toMatch(/^Uid:\s+65532\s/m);
    }
    expect(new Set(pods.map((p) => p.status?.podIP)).size).toBe(3);
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
    expect(claims.map((c) => `${c.metadata?.name}=${c.status?.phase}`).sort()).toEqual(['data-demo-0=Bound', 'data-demo-1=Bound', 'data-demo-2=Bound']);
    // The containers' mounts live in their own namespaces: the host's table never names the agent's directory.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(agentDir);
  });

  it('serves a real etcdctl with the user certificate at the pod addresses', async () => {
    const list = await etcdctl(['member', 'list', '-w', 'json']);
    expect(list.code, list.stderr).toBe(0);
    const members = (JSON.parse(list.stdout) as { members: { name: string; clientURLs: string[] }[] }).members;
    expect(members.map((m) => m.name).sort()).toEqual(['demo-0', 'demo-1', 'demo-2']);
    const put = await etcdctl(['put', 'greeting', 'hello']);
    expect(put.code, put.stderr).toBe(0);
    for (const o of [0, 1, 2]) {
      const get = await etcdctl(['get', 'greeting', '--print-value-only'], [memberClientUrl(ref, o)]);
      expect(get.stdout.trim(), get.stderr).toBe('hello');
    }
    // The names resolve to the pod addresses the agent reported.
    const hosts = readFileSync(agent.hostsFile, 'utf8');
    const pods = (await core.listNamespacedPod({ namespace: ns })).items;
    for (const pod of pods) expect(hosts).toContain(`${pod.status?.podIP}\t${pod.metadata?.name}.demo-peer.${ns}.svc.cluster.local`);
  });

  it('kills a deleted pod, which the StatefulSet controller recreates and which rejoins with its data', async () => {
    const old = await core.readNamespacedPod({ name: 'demo-1', namespace: ns });
    const oldPid = pidOf(old);
    expect(isAlive(oldPid)).toBe(true);
    await core.deleteNamespacedPod({ name: 'demo-1', namespace: ns });
    await waitFor('old etcd process gone', () => !isAlive(oldPid), { timeoutMs: 40_000 });
    const fresh = await waitFor('demo-1 recreated and Ready', async () => {
      const pod = await core.readNamespacedPod({ name: 'demo-1', namespace: ns });
      return pod.metadata?.uid !== old.metadata?.uid && isReady(pod) ? pod : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    expect(pidOf(fresh)).not.toBe(oldPid);
    const get = await etcdctl(['get', 'greeting', '--print-value-only', '--consistency=s'], [memberClientUrl(ref, 1)]);
    expect(get.stdout.trim(), get.stderr).toBe('hello');
    const health = await etcdctl(['endpoint', 'health']);
    expect(health.code, health.stderr + health.stdout).toBe(0);
  });

  it('reports an unknown image as a pull failure and keeps running the cluster', async () => {
    const apps = cp.kubeConfig().makeApiClient(AppsV1Api);
    const labels = { app: 'bad-image' };
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'bad' },
        spec: { replicas: 1, serviceName: 'bad', selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'etcd', image: 'gcr.io/etcd-development/etcd:v9.9.9' }] } } },
      },
    });
    const waiting = await waitFor('bad-0 waiting on its image', async () => {
      const pod = await core.readNamespacedPod({ name: 'bad-0', namespace: ns });
      const w = pod.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'ErrImagePull' || w?.reason === 'ImagePullBackOff' ? w : undefined;
    }, { timeoutMs: 30_000 });
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(waiting.reason);
    expect(waiting.message).toContain('v9.9.9');
    // The agent posts its Event beside the status update, not before it: poll.
    await waitFor('a Failed pull event for bad-0', async () => {
      const events = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=bad-0' })).items;
      return events.some((e) => e.reason === 'Failed' && e.type === 'Warning' && e.message?.includes('Failed to pull image'));
    }, { timeoutMs: 30_000 });
    expect((await core.readNamespacedPod({ name: 'bad-0', namespace: ns })).status?.phase).toBe('Pending');
    // The agent still works: the cluster serves and every member stays Ready.
    const put = await etcdctl(['put', 'after-bad-image', 'ok']);
    expect(put.code, put.stderr).toBe(0);
    await waitFor('every member Ready', async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/instance=demo' })).items.every(isReady), { timeoutMs: 60_000 });
  });

  it('leaves no process, mount or address behind when stopped', async () => {
    const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/instance=demo' })).items;
    const pids = pods.map(pidOf);
    expect(pids.every(isAlive)).toBe(true);
    await agent.stop();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(processesUsing(agentDir)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cp.dir);
    expect(agent.addresses()).toEqual([]);
    const ours = readdirSync(addressLockDir).filter((ip) => readFileSync(join(addressLockDir, ip), 'utf8') === String(process.pid));
    expect(ours).toEqual([]);
  });
});
