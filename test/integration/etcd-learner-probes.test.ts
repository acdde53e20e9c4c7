import { describe, expect, it } from 'vitest';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { memberProbes } from '../../src/resources/probes.js';
import { startEtcdCluster } from '../harness/etcd-cluster.js';
import { httpGet } from '../harness/http.js';
import { waitFor } from '../harness/wait.js';

// The member pod's probes asked of a real learner: it must stay alive (startup, liveness) and not
// Ready, or the client Service sends clients to a member that refuses their requests
// ("rpc not supported for learner"): a hosted kube-apiserver answers them with 5xx.
describe.each(['3.5.35', '3.6.16'])('the probes of a learner on etcd %s', (version) => {
  it('keep it alive and not Ready until it is promoted', async () => {
    const cluster = await startEtcdCluster({ size: 1, version, label: `learner-probes-${version}` });
    const { trustedCaPem, client } = cluster.pki;
    const admin = createEtcdAdmin({ endpoints: cluster.endpoints(), tls: { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem }, callTimeoutMs: 5_000 });
    try {
      const ports = await cluster.reservePorts();
      const peerUrl = `https://127.0.0.1:${ports.peer}`;
      const added = await admin.memberAddLearner([peerUrl]);
      const initialCluster = `m0=${cluster.members.get('m0')!.peerUrl},learner=${peerUrl}`;
      const learner = await cluster.startMember({ name: 'learner', initialCluster, state: 'existing', ports });
      const probes = memberProbes(version);
      const status = async (path: string) => (await httpGet(`${learner.metricsUrl}${path}`)).status;
      await waitFor('the learner to answer its startup probe', async () => (await status(probes.startupProbe.httpGet!.path!)) === 200, { process: learner.process, timeoutMs: 30_000 });
      // etcd 3.5.35 answered /readyz 200 once (a CI run of 2026-12-01), in the instant right after a
      // learner started, before it knew itself a learner; it said 503 from then on. So: the first
      // answer is logged, and the learner must come to answer 503 and keep it until promoted.
      const first = await status(probes.readinessProbe.httpGet!.path!);
      await waitFor('the learner to answer its readiness probe with 503', async () => ((await status(probes.readinessProbe.httpGet!.path!)) === 503 ? true : undefined), { process: learner.process, timeoutMs: 10_000, intervalMs: 100 });
      const again: number[] = [];
      for (let i = 0; i < 3; i++, await new Promise((r) => setTimeout(r, 300))) again.push(await status(probes.readinessProbe.httpGet!.path!));
      console.log(`${version}: readiness ${probes.readinessProbe.httpGet!.path} answered ${first} first as a learner, then ${again.join(', ')}`);
      const asLearner = { liveness: await status(probes.livenessProbe.httpGet!.path!), readiness: Math.max(...again) };
      await waitFor('the promotion', () => admin.memberPromote(added.member.id).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 250 });
      const asVoter = await waitFor('Ready as a voter', async () => ((await status(probes.readinessProbe.httpGet!.path!)) === 200 ? 200 : undefined), { timeoutMs: 30_000 });
      console.log(`${version}: readiness ${probes.readinessProbe.httpGet!.path} answered ${asLearner.readiness} as a learner, ${asVoter} as a voter; liveness ${asLearner.liveness}`);
      expect(asLearner).toEqual({ liveness: 200, readiness: 503 });
    } finally {
      admin.close();
      await cluster.stop();
    }
  });
});
