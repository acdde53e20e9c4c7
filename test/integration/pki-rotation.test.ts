import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { get } from 'node:https';
import { type TLSSocket, connect, createServer } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsMaterial } from '../../src/pki/inspect.js';
import { executeCertificatePlan, issueCa, issueLeaf } from '../../src/pki/issue.js';
import { type ObservedPki, type PkiInputs, planCertificates } from '../../src/pki/plan.js';
import { leafProfile, leafKinds } from '../../src/pki/profiles.js';
import { names } from '../../src/resources/names.js';
import { type EtcdMember, type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';
import { waitFor } from '../harness/wait.js';

// Measures what etcd 3.6 does when its certificate files change under it, the way the kubelet
// updates a mounted Secret: all files at once, by swapping the `..data` symlink.
const day = 24 * 3600_000;
const cluster = { name: 'rot', namespace: 'test', clusterDomain: 'cluster.local' };
const owner = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', name: 'rot', uid: 'uid-rot', controller: true };
// Members run on these certificates: the plan must never switch their CA.
const inputs: PkiInputs = { cluster, ownerUid: owner.uid, policy: { validityMs: 90 * day, renewBeforeMs: 30 * day }, trustInUse: true };

function observe(secrets: V1Secret[]): ObservedPki {
  const byName = new Map(secrets.map((s): [string, V1Secret] => [s.metadata!.name!, s]));
  const leaves: ObservedPki['leaves'] = {};
  for (const kind of leafKinds) leaves[kind] = byName.get(leafProfile(cluster, kind).secretName);
  return { ca: byName.get(names.caSecret(cluster)), leaves };
}
const material = (secrets: V1Secret[], name: string) => tlsMaterial(secrets.find((s) => s.metadata?.name === name)!)!;
const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

/** Like the kubelet's atomic writer: files are symlinks into `..data`, which is swapped in one rename. */
let version = 0;
function publish(m: EtcdMember, server: { certPem: string; keyPem: string }, peer: { certPem: string; keyPem: string }): void {
  const dir = dirname(m.files.serverCert);
  const data = `..data_${++version}`;
  mkdirSync(join(dir, data));
  const contents: [string, string][] = [[m.files.serverCert, server.certPem], [m.files.serverKey, server.keyPem], [m.files.peerCert, peer.certPem], [m.files.peerKey, peer.keyPem]];
  for (const [file, text] of contents) writeFileSync(join(dir, data, basename(file)), text, { mode: 0o600 });
  symlinkSync(data, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const [file] of contents) {
    symlinkSync(join('..data', basename(file)), `${file}.tmp`);
    renameSync(`${file}.tmp`, file); // replaces the regular file (first time) or an equal symlink
  }
}

/** The serial a new TLS connection to `url` is served. */
function servedSerial(url: string, tls: { caPem: string; certPem: string; keyPem: string }): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca: tls.caPem, cert: tls.certPem, key: tls.keyPem }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** GET over a new TLS connection: the HTTP status, or 'refused' when the handshake fails. */
function versionStatus(url: string, caPem: string, client: { certPem: string; keyPem: string }): Promise<number | 'refused'> {
  return new Promise((resolve) => {
    const req = get(url, { ca: caPem, cert: client.certPem, key: client.keyPem, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve('refused'));
  });
}

describe('certificate rotation on real etcd', () => {
  let etcd: EtcdTestCluster;
  let first: V1Secret[];
  const writes = { ok: 0, failed: [] as string[] };
  let stopWriting = false;
  let writer: Promise<void>;

  beforeAll(async () => {
    // Issued 61 days ago with 90 days of validity: renewal (30 days before expiry) is due now.
    const then = new Date(Date.now() - 61 * day);
    const fresh = { ...inputs, trustInUse: false };
    first = await executeCertificatePlan(planCertificates({ leaves: {} }, fresh, then), { leaves: {} }, fresh, owner, then);
    const leaf = (kind: 'server' | 'peer' | 'userClient') => material(first, leafProfile(cluster, kind).secretName);
    const pki = { trustedCaPem: material(first, 'rot-ca').certPem, client: leaf('userClient'), certsFor: () => Promise.resolve({ server: leaf('server'), peer: leaf('peer') }) };
    etcd = await startEtcdCluster({ size: 3, pki, label: 'pki-rotation' });
    for (const m of etcd.members.values()) publish(m, leaf('server'), leaf('peer'));
    writer = (async () => {
      for (let i = 0; !stopWriting; i++) {
        const r = await etcd.etcdctl(['put', `rotation/${i}`, String(i)]);
        if (r.code === 0) writes.ok++;
        else writes.failed.push(r.stderr);
      }
    })();
  });
  afterAll(async () => {
    stopWriting = true;
    await writer;
    await etcd?.stop();
  });

  it('renews due leaves in place, new connections get the new serial, and no write fails', async () => {
    await waitFor('some writes before rotation', () => writes.ok >= 5, { timeoutMs: 30_000 });
    const operator = material(first, 'rot-operator-client-tls');
    const before = await servedSerial(etcd.members.get('m0')!.clientUrl, operator);
    expect(before).toBe(serialOf(material(first, 'rot-server-tls').certPem));

    const plan = planCertificates(observe(first), inputs, new Date());
    expect(plan.ca.action).toBe('keep');
    expect(plan.issue.map((i) => i.reason)).toEqual(['Expiring', 'Expiring', 'Expiring', 'Expiring']);
    const renewed = await executeCertificatePlan(plan, observe(first), inputs, owner, new Date());
    // The trust the pod template hashes is unchanged: a renewal restarts no member.
    expect(material(renewed, 'rot-server-tls').caPem).toBe(material(first, 'rot-server-tls').caPem);
    const server = material(renewed, 'rot-server-tls');
    const peer = material(renewed, 'rot-peer-tls');
    const writesAtRotation = writes.ok;
    for (const m of etcd.members.values()) publish(m, server, peer);

    for (const m of etcd.members.values()) {
      expect(await servedSerial(m.clientUrl, operator)).toBe(serialOf(server.certPem));
      expect(await servedSerial(m.peerUrl, operator)).toBe(serialOf(peer.certPem));
    }
    // The renewed user certificate works, and the old one still does until it expires.
    const user = material(renewed, 'rot-client-tls');
    expect(await servedSerial(etcd.members.get('m1')!.clientUrl, user)).toBe(serialOf(server.certPem));
    await waitFor('writes after rotation', () => writes.ok >= writesAtRotation + 10, { timeoutMs: 60_000 });
    expect(writes.failed).toEqual([]);
    console.log(`rotation: ${writes.ok} writes succeeded (${writesAtRotation} before the swap), ${writes.failed.length} failed`);
    expect(planCertificates(observe([first[0]!, ...renewed]), inputs, new Date()).issue).toEqual([]);
  });

  it('members dial new peers with the renewed peer certificate, without restart', async () => {
    // The files now hold the renewed peer certificate (the previous test swapped them).
    const { files } = etcd.members.get('m0')!;
    const cert = readFileSync(files.peerCert, 'utf8');
    const expected = serialOf(cert);
    expect(expected).not.toBe(serialOf(material(first, 'rot-peer-tls').certPem));
    const ca = material(first, 'rot-ca').certPem;
    // A TLS server posing as a new member: the members dial it and show the certificate they use.
    const presented: string[] = [];
    const server = createServer({ key: readFileSync(files.peerKey, 'utf8'), cert, ca, requestCert: true, rejectUnauthorized: false }, (s: TLSSocket) => {
      presented.push(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    try {
      // etcd refuses membership changes until every peer has been connected for 5 s ("unhealthy cluster").
      const added = await waitFor('member add', async () => {
        const r = await etcd.etcdctl(['member', 'add', 'probe', `--peer-urls=https://127.0.0.1:${port}`, '--learner', '-w', 'json']);
        return r.code === 0 ? r : undefined;
      }, { timeoutMs: 30_000, intervalMs: 1_000 });
      const id = /"member":\{"ID":(\d+)/.exec(added.stdout)![1]!;
      await waitFor('a member to dial the probe', () => presented.length > 0, { timeoutMs: 30_000 });
      expect((await etcd.etcdctl(['member', 'remove', BigInt(id).toString(16)])).code).toBe(0);
      expect(new Set(presented)).toEqual(new Set([expected]));
    } finally {
      server.close();
    }
    // The raft streams opened with the old certificates were never dropped by the rotation.
    for (const m of etcd.members.values()) expect(m.process.logTail(400)).not.toMatch(/lost TCP streaming connection/);
  });

  it('does not reload its trusted CA file: a CA change needs members restarted', async () => {
    stopWriting = true;
    await writer;
    const then = new Date();
    const otherCa = await issueCa({ ...cluster, name: 'other' }, inputs.policy, then);
    const otherClient = await issueLeaf(leafProfile(cluster, 'userClient'), otherCa, new Date(then.getTime() + 10 * day), inputs.policy, then);
    const ourCa = material(first, 'rot-ca').certPem;
    const url = `${etcd.members.get('m2')!.clientUrl}/version`;
    expect(await versionStatus(url, ourCa, otherClient)).toBe('refused');
    writeFileSync(join(etcd.dir, 'ca.crt'), otherCa.certPem); // the --trusted-ca-file of every member
    try {
      expect(await versionStatus(url, ourCa, otherClient)).toBe('refused');
      expect(await versionStatus(url, ourCa, material(first, 'rot-client-tls'))).toBe(200);
    } finally {
      writeFileSync(join(etcd.dir, 'ca.crt'), ourCa);
    }
  });
});
