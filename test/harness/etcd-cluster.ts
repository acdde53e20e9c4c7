import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type CertificateAndKey, issue } from '../../src/pki/x509.js';
import { etcdBinary, pinnedVersions } from './binaries.js';
import { httpGet } from './http.js';
import { freePorts } from './ports.js';
import { type ManagedProcess, makeHarnessDir, removeHarnessDir, startProcess } from './process.js';
import { waitFor } from './wait.js';

/** Certificates one member starts with. */
export interface MemberCerts {
  server: CertificateAndKey;
  peer: CertificateAndKey;
}

/** Where member certificates come from; tests of the operator's PKI pass their own. */
export interface TestPki {
  /** PEM of the CA(s) that members and clients trust. */
  trustedCaPem: string;
  certsFor(member: { name: string; host: string }): Promise<MemberCerts>;
  /** The client certificate etcdctl uses. */
  client: CertificateAndKey;
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  /** Plain-HTTP metrics and health listener, like the operator's :2381. */
  metricsUrl: string;
  dataDir: string;
  /** Files etcd reads its certificates from; overwrite them to rotate. */
  files: { serverCert: string; serverKey: string; peerCert: string; peerKey: string };
  process: ManagedProcess;
}

export interface StartMemberOptions {
  name: string;
  /** `name=peerURL,...` for every voting member and this one. */
  initialCluster: string;
  state: 'new' | 'existing';
  /** Override the member's certificates (for example from another CA). */
  certs?: MemberCerts;
  /** Pre-allocated ports, from `reservePorts`. */
  ports?: MemberPorts;
  /** Another etcd version than the cluster's, to roll a member onto new binaries. */
  version?: string;
  /** Extra etcd flags for this start only, such as --force-new-cluster. */
  flags?: string[];
}

export interface MemberPorts {
  client: number;
  peer: number;
  metrics: number;
}

export interface EtcdTestCluster {
  readonly dir: string;
  readonly pki: TestPki;
  readonly version: string;
  readonly members: Map<string, EtcdMember>;
  /** Client URLs of the members that run. */
  endpoints(): string[];
  /** The real etcdctl with the cluster's client certificate against `endpoints` (default all). */
  etcdctl(args: string[], endpoints?: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  reservePorts(): Promise<MemberPorts>;
  startMember(options: StartMemberOptions): Promise<EtcdMember>;
  /** Waits until the member's /health on the metrics port says true. */
  waitHealthy(name: string, timeoutMs?: number): Promise<void>;
  stopMember(name: string, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  pids(): number[];
  stop(): Promise<void>;
}

function serial(): string {
  const bytes = randomBytes(15);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** A fresh CA and certificates from it, valid for loopback. */
export async function generatedTestPki(): Promise<TestPki & { ca: CertificateAndKey }> {
  const now = Date.now();
  const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000) };
  const ca = await issue({ commonName: 'etcd-test-ca', isCA: true, ...validity, serialHex: serial() });
  const client = await issue({ commonName: 'root', usages: ['clientAuth'], ...validity, serialHex: serial() }, ca);
  return {
    ca,
    trustedCaPem: ca.certPem,
    client,
    async certsFor({ name, host }) {
      const leaf = (usages: ('serverAuth' | 'clientAuth')[]) =>
        issue({ commonName: name, dnsNames: ['localhost'], ipAddresses: [host], usages, ...validity, serialHex: serial() }, ca);
      const [server, peer] = await Promise.all([leaf(['serverAuth', 'clientAuth']), leaf(['serverAuth', 'clientAuth'])]);
      return { server, peer };
    },
  };
}

function memberArgs(m: Omit<EtcdMember, 'process'>, caFile: string, o: StartMemberOptions): string[] {
  return [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--listen-metrics-urls=${m.metricsUrl}`,
    `--initial-cluster=${o.initialCluster}`,
    `--initial-cluster-state=${o.state}`,
    '--initial-cluster-token=etcd-test',
    '--client-cert-auth',
    `--trusted-ca-file=${caFile}`,
    `--cert-file=${m.files.serverCert}`,
    `--key-file=${m.files.serverKey}`,
    '--peer-client-cert-auth',
    `--peer-trusted-ca-file=${caFile}`,
    `--peer-cert-file=${m.files.peerCert}`,
    `--peer-key-file=${m.files.peerKey}`,
    '--log-level=warn',
  ];
}

/**
 * Starts `size` real etcd members (default: the pinned 3.6.x) with mutual TLS on client and peer
 * traffic, on free loopback ports, and waits until all are healthy. `size: 0` starts none, for
 * tests that bootstrap members themselves.
 */
export async function startEtcdCluster(options: {
  size: number;
  version?: string;
  pki?: TestPki;
  label?: string;
  /** Extra etcd flags for every member, such as slower elections for tests that read the leader. */
  flags?: string[];
}): Promise<EtcdTestCluster> {
  const version = options.version ?? pinnedVersions.etcd;
  const dir = makeHarnessDir(options.label ?? 'etcd');
  const pki = options.pki ?? (await generatedTestPki());
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, pki.trustedCaPem);
  const clientFiles = { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
  writeFileSync(clientFiles.cert, pki.client.certPem);
  writeFileSync(clientFiles.key, pki.client.keyPem, { mode: 0o600 });
  const members = new Map<string, EtcdMember>();
  let stopped = false;

  const cluster: EtcdTestCluster = {
    dir,
    pki,
    version,
    members,
    endpoints: () => [...members.values()].filter((m) => m.process.running()).map((m) => m.clientUrl),
    etcdctl(args, endpoints) {
      const eps = endpoints ?? cluster.endpoints();
      const tls = [`--cacert=${caFile}`, `--cert=${clientFiles.cert}`, `--key=${clientFiles.key}`, `--endpoints=${eps.join(',')}`];
      return new Promise((resolve) => {
        execFile(etcdBinary('etcdctl', version), [...tls, '--command-timeout=10s', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        });
      });
    },
    async reservePorts() {
      const [client, peer, metrics] = (await freePorts(3)) as [number, number, number];
      return { client, peer, metrics };
    },
    async startMember(o) {
      const host = '127.0.0.1';
      const ports = o.ports ?? (await cluster.reservePorts());
      const memberDir = join(dir, o.name);
      mkdirSync(memberDir, { recursive: true });
      const certs = o.certs ?? (await pki.certsFor({ name: o.name, host }));
      const files = {
        serverCert: join(memberDir, 'server.crt'),
        serverKey: join(memberDir, 'server.key'),
        peerCert: join(memberDir, 'peer.crt'),
        peerKey: join(memberDir, 'peer.key'),
      };
      writeFileSync(files.serverCert, certs.server.certPem);
      writeFileSync(files.serverKey, certs.server.keyPem, { mode: 0o600 });
      writeFileSync(files.peerCert, certs.peer.certPem);
      writeFileSync(files.peerKey, certs.peer.keyPem, { mode: 0o600 });
      const base = {
        name: o.name,
        clientUrl: `https://${host}:${ports.client}`,
        peerUrl: `https://${host}:${ports.peer}`,
        metricsUrl: `http://${host}:${ports.metrics}`,
        dataDir: join(memberDir, 'data'),
        files,
      };
      const proc = startProcess(`etcd-${o.name}`, etcdBinary('etcd', o.version ?? version), [...memberArgs(base, caFile, o), ...(options.flags ?? []), ...(o.flags ?? [])], { logDir: dir });
      const member = { ...base, process: proc };
      members.set(o.name, member);
      return member;
    },
    async waitHealthy(name, timeoutMs = 30_000) {
      const m = members.get(name);
      if (!m) throw new Error(`no member ${name}`);
      await waitFor(`${name} /health`, async () => {
        const res = await httpGet(`${m.metricsUrl}/health`);
        return res.status === 200 && (JSON.parse(res.body) as { health: string }).health === 'true';
      }, { process: m.process, timeoutMs });
    },
    async stopMember(name, signal = 'SIGTERM') {
      const m = members.get(name);
      if (!m) return;
      if (signal === 'SIGKILL') {
        process.kill(m.process.pid, 'SIGKILL');
        await m.process.exited;
      } else {
        await m.process.stop();
      }
    },
    pids: () => [...members.values()].filter((m) => m.process.running()).map((m) => m.process.pid),
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...members.values()].map((m) => m.process.stop()));
      removeHarnessDir(dir);
    },
  };

  try {
    const names = Array.from({ length: options.size }, (_, i) => `m${i}`);
    const ports = await Promise.all(names.map(() => cluster.reservePorts()));
    const initialCluster = names.map((n, i) => `${n}=https://127.0.0.1:${ports[i]!.peer}`).join(',');
    await Promise.all(names.map((name, i) => cluster.startMember({ name, initialCluster, state: 'new', ports: ports[i]! })));
    await Promise.all(names.map((name) => cluster.waitHealthy(name)));
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
