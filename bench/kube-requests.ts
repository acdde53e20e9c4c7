// What a request to the API server costs the operator, on a kept connection and on a new one
// each time (client-node's agent, as before `keptAlive` in src/runtime/kube-http.ts): sequential
// GETs and merge PATCHes of one ConfigMap against the harness's real kube-apiserver, wall time per
// request and this process's CPU. Run: npx tsx bench/kube-requests.ts [requests] [rounds]
import http from 'node:http';
import https from 'node:https';
import { kubeRequest } from '../src/runtime/kube-http.js';
import { startControlPlane } from '../test/harness/control-plane.js';
import { execFileSync } from 'node:child_process';
import { loadAverage } from './machine.js';
import { cpuSeconds } from './proc.js';

const n = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 3);
const cp = await startControlPlane('kube-requests');
try {
  const path = '/api/v1/namespaces/default/configmaps/kube-requests';
  await kubeRequest(cp.kubeConfig(), '/api/v1/namespaces/default/configmaps', { method: 'POST', body: { metadata: { name: 'kube-requests' }, data: {} } });
  // Before: the request as kube-http sent it, with the agent client-node gives (keep-alive off).
  const fresh = cp.kubeConfig();
  let noKeepAlive = true;
  const before = async (url: string, method = 'GET', body?: unknown): Promise<unknown> => {
    const opts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
    await fresh.applyToHTTPSOptions(opts);
    noKeepAlive &&= (opts.agent as http.Agent & { keepAlive?: boolean }).keepAlive === false;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) opts.headers = { ...opts.headers, 'Content-Type': 'application/merge-patch+json', 'Content-Length': Buffer.byteLength(payload) };
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = https.request(new URL(fresh.getCurrentCluster()!.server + url), opts, resolve);
      req.once('error', reject);
      req.end(payload);
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    if ((res.statusCode ?? 0) >= 300) throw new Error(`HTTP ${res.statusCode}`);
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  };
  const port = new URL(fresh.getCurrentCluster()!.server).port;
  const apiServer = Number(execFileSync('pgrep', ['-f', `kube-apiserver.*--secure-port=${port}`], { encoding: 'utf8' }).trim().split('\n')[0]);
  const measure = async (label: string, send: (i: number) => Promise<unknown>) => {
    const server0 = cpuSeconds(apiServer);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await send(i);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { label, msPerRequest: +(ms / n).toFixed(2), cpuMsPerRequest: +((cpu.user + cpu.system) / 1000 / n).toFixed(2), apiServerCpuMsPerRequest: +(((cpuSeconds(apiServer) - server0) * 1000) / n).toFixed(2) };
  };
  const rows: unknown[] = [];
  for (let r = 0; r < rounds; r++) {
    const kept = cp.kubeConfig();
    rows.push(await measure('GET, kept connection', () => kubeRequest(kept, path)));
    rows.push(await measure('GET, new connection each', () => before(path)));
    rows.push(await measure('PATCH, kept connection', (i) => kubeRequest(kept, path, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { data: { i: String(i) } } })));
    rows.push(await measure('PATCH, new connection each', (i) => before(path, 'PATCH', { data: { i: String(-i) } })));
  }
  console.log(JSON.stringify({ requests: n, rounds, load: loadAverage(), noKeepAlive, rows }, null, 1));
} finally {
  await cp.stop();
}
