import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsMaterial } from '../../src/pki/inspect.js';
import { executeCertificatePlan } from '../../src/pki/issue.js';
import { planCertificates } from '../../src/pki/plan.js';
import { type LeafKind, leafProfile } from '../../src/pki/profiles.js';
import { names } from '../../src/resources/names.js';
import type { CertificateAndKey } from '../../src/pki/x509.js';
import { etcdBinary } from '../harness/binaries.js';
import { type EtcdTestCluster, type TestPki, startEtcdCluster } from '../harness/etcd-cluster.js';
import { waitFor } from '../harness/wait.js';

// Real etcd 3.6 members run on the certificates the operator's PKI issues: one shared server and
// one shared peer certificate for every member, as the Secrets would be mounted in pods.
const day = 24 * 3600_000;
const cluster = { name: 'pki', namespace: 'test', clusterDomain: 'cluster.local' };
const owner = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', name: 'pki', uid: 'uid-pki', controller: true };
const policy = { validityMs: 90 * day, renewBeforeMs: 30 * day };

interface IssuedSet {
  ca: CertificateAndKey;
  leaves: Record<LeafKind, CertificateAndKey>;
}

async function issueSet(name = cluster.name): Promise<IssuedSet> {
  const inputs = { cluster: { ...cluster, name }, ownerUid: owner.uid, policy, trustInUse: false };
  const now = new Date();
  const secrets = await executeCertificatePlan(planCertificates({ leaves: {} }, inputs, now), { leaves: {} }, inputs, owner, now);
  const byName = new Map(secrets.map((s): [string, V1Secret] => [s.metadata!.name!, s]));
  const material = (secretName: string) => tlsMaterial(byName.get(secretName)!)!;
  const leaf = (kind: LeafKind) => material(leafProfile(inputs.cluster, kind).secretName);
  const leaves = { server: leaf('server'), peer: leaf('peer'), operatorClient: leaf('operatorClient'), userClient: leaf('userClient') };
  return { ca: material(names.caSecret(inputs.cluster)), leaves };
}

function testPki(set: IssuedSet): TestPki {
  return {
    trustedCaPem: set.ca.certPem,
    client: set.leaves.userClient,
    certsFor: () => Promise.resolve({ server: set.leaves.server, peer: set.leaves.peer }),
  };
}

/** The real etcdctl with whatever TLS material a test wants (the harness's always has a client cert). */
function etcdctl(dir: string, tls: { caPem: string; client?: CertificateAndKey }, endpoints: string[], args: string[]) {
  const tag = Math.random().toString(36).slice(2);
  const caFile = join(dir, `ctl-${tag}-ca.crt`);
  writeFileSync(caFile, tls.caPem);
  const flags = [`--cacert=${caFile}`, `--endpoints=${endpoints.join(',')}`, '--command-timeout=5s', '--dial-timeout=3s'];
  if (tls.client) {
    writeFileSync(join(dir, `ctl-${tag}.crt`), tls.client.certPem);
    writeFileSync(join(dir, `ctl-${tag}.key`), tls.client.keyPem, { mode: 0o600 });
    flags.push(`--cert=${join(dir, `ctl-${tag}.crt`)}`, `--key=${join(dir, `ctl-${tag}.key`)}`);
  }
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(etcdBinary('etcdctl'), [...flags, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('etcd on the operator PKI', () => {
  let set: IssuedSet;
  let other: IssuedSet;
  let etcd: EtcdTestCluster;

  beforeAll(async () => {
    [set, other] = await Promise.all([issueSet(), issueSet('other')]);
    etcd = await startEtcdCluster({ size: 3, pki: testPki(set), label: 'pki-etcd' });
  });
  afterAll(async () => etcd?.stop());

  it('forms a 3-member cluster over peer mutual TLS with shared server and peer certificates', async () => {
    const list = await etcd.etcdctl(['member', 'list', '-w', 'json']);
    expect(list.code).toBe(0);
    const members = (JSON.parse(list.stdout) as { members: { name: string; peerURLs: string[] }[] }).members;
    expect(members.map((m) => m.name).sort()).toEqual(['m0', 'm1', 'm2']);
    expect(members.every((m) => m.peerURLs.every((u) => u.startsWith('https://')))).toBe(true);
    const health = await etcd.etcdctl(['endpoint', 'health', '-w', 'json']);
    expect(health.code).toBe(0);
    expect((JSON.parse(health.stdout) as { health: boolean }[]).map((h) => h.health)).toEqual([true, true, true]);
  });

  it('lets the user certificate and the operator certificate write and read', async () => {
    expect((await etcd.etcdctl(['put', 'greeting', 'hello'])).code).toBe(0);
    const asOperator = { caPem: set.ca.certPem, client: set.leaves.operatorClient };
    const got = await etcdctl(etcd.dir, asOperator, etcd.endpoints(), ['get', 'greeting', '--print-value-only']);
    expect(got).toMatchObject({ code: 0, stdout: 'hello\n' });
    expect((await etcdctl(etcd.dir, asOperator, etcd.endpoints(), ['put', 'by', 'operator'])).code).toBe(0);
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    const none = await etcdctl(etcd.dir, { caPem: set.ca.certPem }, etcd.endpoints(), ['get', 'greeting']);
    expect(none.code).not.toBe(0);
    const foreign = await etcdctl(etcd.dir, { caPem: set.ca.certPem, client: other.leaves.userClient }, etcd.endpoints(), ['get', 'greeting']);
    expect(foreign.code).not.toBe(0);
    expect(foreign.stdout).not.toContain('hello');
  });

  it('refuses a peer whose certificate another CA signed', async () => {
    const ports = await etcd.reservePorts();
    const peerUrl = `https://127.0.0.1:${ports.peer}`;
    // A learner, so the cluster keeps its quorum while the intruder fails to join.
    const added = await etcd.etcdctl(['member', 'add', 'm3', `--peer-urls=${peerUrl}`, '--learner', '-w', 'json']);
    expect(added.code).toBe(0);
    const out = JSON.parse(added.stdout) as { members: { name: string; peerURLs: string[] }[] };
    const id = /"member":\{"ID":(\d+)/.exec(added.stdout)![1]!;
    const initialCluster = [...out.members.filter((m) => m.name).map((m) => `${m.name}=${m.peerURLs[0]}`), `m3=${peerUrl}`].join(',');
    await etcd.startMember({ name: 'm3', initialCluster, state: 'existing', ports, certs: { server: other.leaves.server, peer: other.leaves.peer } });
    await expect(etcd.waitHealthy('m3', 15_000)).rejects.toThrow();
    // The intruder gives up: the members answer its handshake with "unknown certificate authority".
    const intruder = etcd.members.get('m3')!.process;
    await waitFor('the intruder to give up', () => !intruder.running(), { timeoutMs: 90_000 });
    expect(intruder.logTail(30)).toMatch(/tls: unknown certificate authority[\s\S]*bootstrap failed/);
    const logs = ['m0', 'm1', 'm2'].map((m) => etcd.members.get(m)!.process.logTail(200)).join('\n');
    expect(logs).toMatch(/rejected connection on peer endpoint[^\n]*(unknown authority|bad certificate)/);
    await etcd.stopMember('m3');
    expect((await etcd.etcdctl(['member', 'remove', BigInt(id).toString(16)])).code).toBe(0);
    expect((await etcd.etcdctl(['endpoint', 'health'], etcd.endpoints().slice(0, 3))).code).toBe(0);
  });
});
