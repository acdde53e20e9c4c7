import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { CertificateAndKey } from '../../src/pki/x509.js';
import { etcdBinary, kubeBinary } from './binaries.js';
import { type ControlPlaneCertFiles, writeControlPlaneCerts } from './certs.js';
import { httpGet } from './http.js';
import { freePorts } from './ports.js';
import { type ManagedProcess, keepHarnessDir, makeHarnessDir, processesUsing, removeHarnessDir, startProcess } from './process.js';
import { waitFor } from './wait.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** Temporary directory holding data, certificates, kubeconfigs and logs. */
  readonly dir: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Kubeconfig of a system:masters administrator. */
  readonly kubeconfigPath: string;
  readonly ca: CertificateAndKey;
  /** Plain-HTTP client URL of the control plane's own etcd (to compact it, say). */
  readonly etcdUrl: string;
  /** A fresh client configuration for the administrator. */
  kubeConfig(): KubeConfig;
  /** The real kubectl with the administrator's kubeconfig; never throws on a non-zero exit. */
  kubectl(args: string[], options?: { input?: string }): Promise<KubectlResult>;
  /**
   * Waits until a CRD is Established. `kubectl wait --for=condition=Established` fails at once on
   * a CRD created a moment ago, before it has any status, so this polls instead.
   */
  waitForCrd(name: string, timeoutMs?: number): Promise<void>;
  /** Stops only the API server (its etcd and data stay), to test clients across an outage. */
  stopApiServer(): Promise<void>;
  /** Starts the API server again on the same port and waits until it is ready. */
  startApiServer(): Promise<void>;
  /** PIDs of the processes the harness started and that still run. */
  pids(): number[];
  /** Stops every process and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

function writeKubeconfig(path: string, server: string, caPem: string, user: string, client: CertificateAndKey): void {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'harness', server, caData: b64(caPem), skipTLSVerify: false }],
    users: [{ name: user, certData: b64(client.certPem), keyData: b64(client.keyPem) }],
    contexts: [{ name: 'harness', cluster: 'harness', user, namespace: 'default' }],
    currentContext: 'harness',
  });
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
}

/** The flags of the harness's API server; test/e2e/hosted-apiserver.ts starts a second one with them. */
export function apiServerArgs(dir: string, certs: ControlPlaneCertFiles, port: number, etcdUrl: string): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${certs.servingCert}`,
    `--tls-private-key-file=${certs.servingKey}`,
    `--client-ca-file=${certs.caCert}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${certs.serviceAccountPub}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    // Endpoints may not point at loopback, so the kubernetes Service gets none here.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
  ];
}

function controllerManagerArgs(dir: string, certs: ControlPlaneCertFiles, port: number, kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'kcm-certs')}`,
    '--leader-elect=false',
    // Every default controller (StatefulSet, garbage collector, namespace, service account and
    // token, persistent-volume binder, disruption, ...), each under its own service account.
    '--controllers=*',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${certs.serviceAccountKey}`,
    `--root-ca-file=${certs.caCert}`,
    `--cluster-signing-cert-file=${certs.caCert}`,
    `--cluster-signing-key-file=${certs.caKey}`,
    '--profiling=false',
    '--v=1',
  ];
}

function startEtcd(dir: string, clientPort: number, peerPort: number): ManagedProcess {
  const peer = `http://127.0.0.1:${peerPort}`;
  return startProcess(
    'etcd',
    etcdBinary('etcd'),
    [
      '--name=harness',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=harness=${peer}`,
      // The store behind a throwaway API server: durability across power loss does not matter.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { logDir: dir },
  );
}

/**
 * Starts a private etcd, kube-apiserver (TLS, RBAC, service-account keys) and
 * kube-controller-manager on free loopback ports and resolves once all are healthy.
 */
export interface ControlPlaneOptions {
  /** Extra kube-apiserver flags, such as `--watch-cache=false`. */
  extraApiServerArgs?: string[];
}

export async function startControlPlane(label = 'cp', options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = makeHarnessDir(label);
  const processes: ManagedProcess[] = [];
  const stopAll = async () => {
    await Promise.all([...processes].reverse().map((p) => p.stop()));
  };
  try {
    const certs = await writeControlPlaneCerts(dir);
    const [etcdClient, etcdPeer, apiPort, kcmPort] = await freePorts(4) as [number, number, number, number];
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const kcmKubeconfig = join(dir, 'kcm.kubeconfig');
    writeKubeconfig(kubeconfigPath, server, certs.ca.certPem, 'admin', certs.admin);
    writeKubeconfig(kcmKubeconfig, server, certs.ca.certPem, 'kube-controller-manager', certs.controllerManager);
    mkdirSync(join(dir, 'kcm-certs'));

    const etcd = startEtcd(dir, etcdClient, etcdPeer);
    processes.push(etcd);
    await waitFor('etcd /health', async () => (await httpGet(`http://127.0.0.1:${etcdClient}/health`)).status === 200, { process: etcd });

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const apiArgs = [...apiServerArgs(dir, certs, apiPort, etcdUrl), ...(options.extraApiServerArgs ?? [])];
    const adminTls = { ca: certs.ca.certPem, cert: certs.admin.certPem, key: certs.admin.keyPem };
    let apiserver = startProcess('kube-apiserver', kubeBinary('kube-apiserver'), apiArgs, { logDir: dir });
    processes.push(apiserver);
    // The controller manager waits for the API server, so both start together. It gives up after
    // about 20 s, which a loaded machine's API server can take (its RBAC bootstrap alone did, at
    // load 45): then it starts again once the API server is ready.
    const startKcm = () => {
      const p = startProcess('kube-controller-manager', kubeBinary('kube-controller-manager'), controllerManagerArgs(dir, certs, kcmPort, kcmKubeconfig), { logDir: dir });
      processes.push(p);
      return p;
    };
    let kcm = startKcm();
    const apiReady = () =>
      waitFor('kube-apiserver /readyz', async () => (await httpGet(`${server}/readyz`, adminTls)).status === 200, { process: apiserver, timeoutMs: 120_000 });
    await apiReady();
    const kcmHealthy = () =>
      waitFor('kube-controller-manager /healthz', async () => (await httpGet(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true })).status === 200, {
        process: kcm,
        timeoutMs: 120_000,
      });
    if (!kcm.running()) kcm = startKcm();
    // It may also give up in the moment the API server turns ready: one more start then.
    await kcmHealthy().catch(async (err: unknown) => {
      if (kcm.running()) throw err;
      kcm = startKcm();
      await kcmHealthy();
    });

    let stopped = false;
    return {
      dir,
      server,
      kubeconfigPath,
      ca: certs.ca,
      etcdUrl,
      kubeConfig() {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfigPath);
        return kc;
      },
      kubectl(args, options = {}) {
        return runKubectl(kubeconfigPath, args, options.input);
      },
      async waitForCrd(name, timeoutMs = 60_000) {
        const jsonpath = '{.status.conditions[?(@.type=="Established")].status}';
        await waitFor(`CRD ${name} Established`, async () => (await runKubectl(kubeconfigPath, ['get', 'crd', name, '-o', `jsonpath=${jsonpath}`])).stdout === 'True', {
          timeoutMs,
          intervalMs: 200,
        });
      },
      async stopApiServer() {
        await apiserver.stop();
      },
      async startApiServer() {
        if (apiserver.running()) return;
        processes.splice(processes.indexOf(apiserver), 1);
        apiserver = startProcess('kube-apiserver', kubeBinary('kube-apiserver'), apiArgs, { logDir: dir });
        processes.push(apiserver);
        await apiReady();
      },
      pids() {
        return processes.filter((p) => p.running()).map((p) => p.pid);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
        // HARNESS_KEEP_DIR=1 keeps every run's directory (pod logs included), for tracing.
        if (process.env.HARNESS_KEEP_DIR) {
          keepHarnessDir(dir);
          console.error(`harness directory kept: ${dir}`);
        } else removeHarnessDir(dir);
      },
    };
  } catch (err) {
    await stopAll();
    if (process.env.HARNESS_KEEP_DIR_ON_FAILURE || process.env.HARNESS_KEEP_DIR) {
      keepHarnessDir(dir);
      console.error(`harness directory kept: ${dir}`);
    } else removeHarnessDir(dir);
    throw err;
  }
}

export function runKubectl(kubeconfig: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      kubeBinary('kubectl'),
      // Discovery cached beside the kubeconfig: the default cache is keyed by host:port, and a
      // later control plane on a reused port would otherwise read this one's discovery.
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dirname(kubeconfig), 'kubectl-cache')}`, ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

export { processesUsing };
