import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { type GuardOptions, check, hasWal, runGuard } from '../../src/member-init/main.js';
import { askClientPort, askPeerPort } from '../../src/member-init/member-list.js';
import { startEtcdCluster } from '../harness/etcd-cluster.js';
import { waitFor } from '../harness/wait.js';

// The start guard against real etcd members: what it reads over HTTPS with a peer certificate
// (no gRPC), and its verdicts for a bootstrap, a fresh learner and a lost volume.
describe.each(['3.5.35', '3.6.16'])('the start guard against etcd %s', (version) => {
  it('bootstraps past a peer that waits for quorum, admits a fresh learner, holds a lost volume', async () => {
    const cluster = await startEtcdCluster({ size: 0, version, label: `guard-${version}` });
    const { trustedCaPem, client } = cluster.pki;
    const admin = () => createEtcdAdmin({ endpoints: cluster.endpoints(), tls: { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem }, callTimeoutMs: 5_000 });
    try {
      const ports = await Promise.all([0, 1, 2].map(() => cluster.reservePorts()));
      const peer = (i: number) => `https://127.0.0.1:${ports[i]!.peer}`;
      const initialCluster = [0, 1, 2].map((i) => `m${i}=${peer(i)}`).join(',');
      const certs = await cluster.pki.certsFor({ name: 'guard', host: '127.0.0.1' });
      const tlsDir = join(cluster.dir, 'guard-tls');
      mkdirSync(tlsDir, { recursive: true });
      writeFileSync(join(tlsDir, 'ca.crt'), trustedCaPem);
      writeFileSync(join(tlsDir, 'tls.crt'), certs.peer.certPem);
      writeFileSync(join(tlsDir, 'tls.key'), certs.peer.keyPem);
      const tls = { caPem: trustedCaPem, certPem: certs.peer.certPem, keyPem: certs.peer.keyPem };
      // Harness members listen on random client ports; the operator's all use 2379.
      const clientURLOf = (peerURL: string) => [...cluster.members.values()].find((m) => m.peerUrl === peerURL)?.clientUrl ?? peerURL;
      const look = (o: GuardOptions) => check(o, clientURLOf);
      const verdict = async (o: GuardOptions, start: boolean, reason: string) => {
        const v = await look(o);
        expect(v.start).toBe(start);
        expect(v.reason).toContain(reason);
      };
      const options = (over: Partial<GuardOptions>): GuardOptions => ({ dataDir: join(cluster.dir, 'empty'), peerURL: peer(1), initialCluster, state: 'new', tlsDir, pollMs: 1_000, callTimeoutMs: 2_000, ...over });

      // m0 alone of three: it listens but has no quorum, so its client port never answers.
      await cluster.startMember({ name: 'm0', initialCluster, state: 'new', ports: ports[0] });
      const m0 = cluster.members.get('m0')!;
      const early = await waitFor('m0 to listen on its peer port', () => askPeerPort(m0.peerUrl, tls, 2_000).catch(() => undefined), { process: m0.process, timeoutMs: 30_000 });
      await expect(askClientPort(m0.clientUrl, tls, 1_000)).rejects.toThrow(/no answer within 1000 ms/);
      expect(early.members.map((m) => m.name).sort()).toEqual(['m0', 'm1', 'm2']);
      expect(early.members.every((m) => m.clientURLs.length === 0)).toBe(true);
      const t0 = performance.now();
      const bootstrap = await look(options({}));
      console.log(`${version}: bootstrap verdict in ${Math.round(performance.now() - t0)} ms beside a peer without quorum: ${bootstrap.reason}`);
      expect(bootstrap.start).toBe(true);
      expect(bootstrap.reason).toContain('has not run');

      await Promise.all([1, 2].map((i) => cluster.startMember({ name: `m${i}`, initialCluster, state: 'new', ports: ports[i] })));
      await Promise.all(['m0', 'm1', 'm2'].map((n) => cluster.waitHealthy(n)));
      // The views carry etcd's own 64-bit IDs (beyond a JS number), as the gRPC list has them.
      const a = admin();
      try {
        const ids = (await a.memberList()).members.map((m) => m.id).sort();
        expect((await askPeerPort(m0.peerUrl, tls, 2_000)).members.map((m) => m.id).sort()).toEqual(ids);
        expect((await askClientPort(m0.clientUrl, tls, 2_000)).members.map((m) => m.id).sort()).toEqual(ids);
        // m1 ran: an empty volume in its place must wait, bootstrapping or joining.
        await verdict(options({}), false, 'already ran');
        await verdict(options({ state: 'existing' }), false, 'already ran');

        // A fresh learner: start when joining; the members list it but it never ran.
        const learnerPorts = await cluster.reservePorts();
        const learnerPeer = `https://127.0.0.1:${learnerPorts.peer}`;
        const withLearner = `${initialCluster},m3=${learnerPeer}`;
        await verdict(options({ state: 'existing', peerURL: learnerPeer, initialCluster: withLearner }), false, 'does not list');
        // etcd refuses an add until its leader has been connected to every voter for 5 s.
        await waitFor('the learner added', () => a.memberAddLearner([learnerPeer]).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 250 });
        // A follower may not list the learner for a moment after the add: the guard waits for it.
        const admitted = await waitFor('every member to list the learner', async () => {
          const v = await look(options({ state: 'existing', peerURL: learnerPeer, initialCluster: withLearner }));
          return v.start ? v : undefined;
        }, { timeoutMs: 30_000, intervalMs: 100 });
        expect(admitted.reason).toContain('added as learner');

        // The learner runs (writing its log), is removed (a learner timeout, say), and the ordinal
        // is added again as a new learner on the same retained volume. etcd started there would
        // take the removed member's identity from its log, be refused by its peers and exit, on
        // every restart: the guard discards that log, and the new learner joins.
        await cluster.startMember({ name: 'm3', initialCluster: withLearner, state: 'existing', ports: learnerPorts });
        const m3 = cluster.members.get('m3')!;
        const oldId = admitted.reason.match(/learner (\d+)/)![1]!;
        await waitFor('the learner to write its log', () => hasWal(m3.dataDir) || undefined, { process: m3.process, timeoutMs: 30_000 });
        await waitFor('the learner to run', async () => ((await a.memberList()).members.find((m) => m.id === oldId)?.name ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
        await cluster.stopMember('m3', 'SIGKILL');
        await a.memberRemove(oldId);
        const readded = await waitFor('the learner added again', () => a.memberAddLearner([learnerPeer]).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 250 });
        const onOldLog = options({ state: 'existing', peerURL: learnerPeer, initialCluster: withLearner, dataDir: m3.dataDir });
        const stale = await waitFor('every member to list the new learner', async () => {
          const v = await look(onOldLog);
          return 'discard' in v && v.discard ? v : undefined;
        }, { timeoutMs: 30_000, intervalMs: 100 });
        expect(stale.reason).toContain(`log of member ${oldId}`);
        expect(stale.reason).toContain(`new member ${readded.member.id}`);
        // What etcd does on that log without the guard: it exits, refused as a removed member.
        await cluster.startMember({ name: 'm3', initialCluster: withLearner, state: 'existing', ports: learnerPorts });
        const exit = await Promise.race([cluster.members.get('m3')!.process.exited.then((code) => `exited ${code}`), new Promise<string>((r) => setTimeout(() => r('still running'), 30_000))]);
        console.log(`${version}: etcd on the removed learner's log: ${exit}; ${cluster.members.get('m3')!.process.logTail(3)}`);
        // It exits once a peer tells it it was removed; on a loaded machine that word may not come
        // within the wait (seen once in CI on 3.5.35). Either way it must not be the new learner.
        if (!exit.startsWith('exited')) {
          const listed = (await a.memberList()).members;
          expect(listed.find((m) => m.id === oldId)).toBeUndefined();
          expect(listed.find((m) => m.id === readded.member.id)?.name ?? '').toBe('');
          await cluster.stopMember('m3', 'SIGKILL');
        }
        // The guard discards the log, then admits the new learner on the emptied volume; it joins.
        const lines: string[] = [];
        await runGuard(onOldLog, (_level, message, fields) => lines.push(`${message}: ${String(fields.reason)}`), clientURLOf);
        expect(lines[0]).toContain('discarding');
        expect(lines.at(-1)).toContain(`added as learner ${readded.member.id}`);
        expect(hasWal(m3.dataDir)).toBe(false);
        await cluster.startMember({ name: 'm3', initialCluster: withLearner, state: 'existing', ports: learnerPorts });
        await waitFor('the new learner to run', async () => ((await a.memberList()).members.find((m) => m.id === readded.member.id)?.name ? true : undefined), { process: cluster.members.get('m3')!.process, timeoutMs: 30_000, intervalMs: 200 });
        await cluster.stopMember('m3', 'SIGKILL');

        // The volume's log alone is lost and its database is from another history (a volume kept
        // across a restore, or copied from another cluster): a one-member cluster x0 with 300
        // writes, its consistent index past this cluster's. etcd started there without a WAL
        // opens that database and takes its index as applied, so it skips this cluster's
        // entries up to it and never publishes itself. The guard moves it aside first.
        const otherPorts = await cluster.reservePorts();
        await cluster.startMember({ name: 'x0', initialCluster: `x0=https://127.0.0.1:${otherPorts.peer}`, state: 'new', ports: otherPorts });
        await cluster.waitHealthy('x0');
        const other = new Etcd3({ hosts: [cluster.members.get('x0')!.clientUrl], credentials: { rootCertificate: Buffer.from(trustedCaPem), certChain: Buffer.from(client.certPem), privateKey: Buffer.from(client.keyPem) } });
        try {
          for (let i = 0; i < 300; i++) await other.put(`other-${i % 5}`).value(String(i));
        } finally {
          other.close();
        }
        await cluster.stopMember('x0', 'SIGTERM');
        await a.memberRemove(readded.member.id);
        const third = await waitFor('the learner added a third time', () => a.memberAddLearner([learnerPeer]).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 250 });
        rmSync(join(m3.dataDir, 'member'), { recursive: true });
        mkdirSync(join(m3.dataDir, 'member', 'snap'), { recursive: true });
        copyFileSync(join(cluster.members.get('x0')!.dataDir, 'member', 'snap', 'db'), join(m3.dataDir, 'member', 'snap', 'db'));
        const guarded: { message: string; fields: Record<string, unknown> }[] = [];
        await runGuard({ ...onOldLog, pollMs: 100 }, (_level, message, fields) => guarded.push({ message, fields }), clientURLOf);
        expect(String(guarded.at(-1)!.fields.reason)).toContain(`added as learner ${third.member.id}`);
        const moved = guarded.filter((l) => l.message.startsWith('moved')).map((l) => String(l.fields.movedTo));
        expect(moved).toHaveLength(1);
        expect(existsSync(join(m3.dataDir, 'member'))).toBe(false);
        expect(existsSync(join(moved[0]!, 'snap', 'db'))).toBe(true);
        await cluster.startMember({ name: 'm3', initialCluster: withLearner, state: 'existing', ports: learnerPorts });
        await waitFor('the third learner to run', async () => ((await a.memberList()).members.find((m) => m.id === third.member.id)?.name ? true : undefined), { process: cluster.members.get('m3')!.process, timeoutMs: 30_000, intervalMs: 200 });
        await cluster.stopMember('m3', 'SIGKILL');
      } finally {
        a.close();
      }

      // Nobody answers: joining waits (fail closed), bootstrapping starts.
      await Promise.all(['m0', 'm1', 'm2'].map((n) => cluster.stopMember(n, 'SIGKILL')));
      await verdict(options({ state: 'existing' }), false, 'no member answers');
      await verdict(options({}), true, 'no member answers');
    } finally {
      await cluster.stop();
    }
  });
});
