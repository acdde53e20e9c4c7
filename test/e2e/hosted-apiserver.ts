import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { withClusterDns } from '../agent/fixtures.js';
import { kubeBinary } from '../harness/binaries.js';
import { writeControlPlaneCerts } from '../harness/certs.js';
import { apiServerArgs } from '../harness/control-plane.js';
import { httpGet } from '../harness/http.js';
import { freePort } from '../harness/ports.js';
import { type ManagedProcess, startProcess } from '../harness/process.js';
import { waitFor } from '../harness/wait.js';

/** A kube-apiserver whose datastore is an EtcdCluster: a hosted control plane, as Kamaji runs one. */
export interface HostedApiServer {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** The administrator's credentials (system:masters) and the CA the server is verified with. */
  readonly tls: { ca: string; cert: string; key: string };
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface HostedApiServerOptions {
  /** A directory for certificates and the log. */
  dir: string;
  /** The agent's hosts file: member names resolve as cluster DNS would, following pod restarts. */
  hostsFile: string;
  /** The members' client URLs, a fixed list given once at start (as a kubeadm manifest has it). */
  etcdServers: string[];
  /** The EtcdCluster's client certificate Secret (ca.crt, tls.crt, tls.key). */
  clientSecret: V1Secret;
}

/**
 * Starts the pinned kube-apiserver with `--etcd-servers` at the members and the cluster's client
 * certificate, in the agent's DNS (a mount namespace whose /etc/hosts is the agent's hosts file,
 * rewritten in place as pods move, which Go's resolver re-reads), and waits until it is ready.
 */
export async function startHostedApiServer(o: HostedApiServerOptions): Promise<HostedApiServer> {
  mkdirSync(join(o.dir, 'etcd-client'), { recursive: true });
  const etcdFile = (key: string) => {
    const path = join(o.dir, 'etcd-client', key);
    writeFileSync(path, Buffer.from(o.clientSecret.data![key]!, 'base64'), { mode: 0o600 });
    return path;
  };
  const certs = await writeControlPlaneCerts(o.dir);
  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const args = [
    ...apiServerArgs(o.dir, certs, port, o.etcdServers.join(',')),
    `--etcd-cafile=${etcdFile('ca.crt')}`,
    `--etcd-certfile=${etcdFile('tls.crt')}`,
    `--etcd-keyfile=${etcdFile('tls.key')}`,
  ];
  const [command, ...rest] = withClusterDns(o.hostsFile, [kubeBinary('kube-apiserver'), ...args]);
  const proc = startProcess('hosted-kube-apiserver', command!, rest, { logDir: o.dir });
  const tls = { ca: certs.ca.certPem, cert: certs.admin.certPem, key: certs.admin.keyPem };
  try {
    await waitFor('the hosted kube-apiserver /readyz', async () => (await httpGet(`${server}/readyz`, tls)).status === 200, { process: proc, timeoutMs: 120_000, intervalMs: 500 });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { server, tls, process: proc, stop: () => proc.stop() };
}
