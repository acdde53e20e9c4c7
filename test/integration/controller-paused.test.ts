import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { waitFor } from '../harness/wait.js';
import { ReconcilerBench, secretWrites } from './reconciler-bench.js';

// spec.paused means paused for certificates too: no CA minted, no leaf issued or renewed, no
// Secret written; status, and one event saying so. No kubelet runs: etcd never answers here.
describe('a paused EtcdCluster gets no certificate written', () => {
  let bench: ReconcilerBench;
  beforeAll(async () => {
    bench = await ReconcilerBench.start('controller-paused');
  });
  afterAll(async () => bench?.stop());

  async function paused(name: string, value: boolean): Promise<void> {
    await bench.kubectl('patch', 'etcdcluster', name, '-n', bench.ns, '--type=merge', '-p', JSON.stringify({ spec: { paused: value } }));
    await waitFor(`${name} paused=${value} in the cache`, () => (bench.cache.get('EtcdCluster', bench.ns, name) as EtcdCluster | undefined)?.spec.paused === value);
  }

  it('a cluster created paused gets no CA and no certificate, and one Paused event', async () => {
    await bench.create('frozen', { paused: true });
    const passes = [await bench.pass('frozen'), await bench.pass('frozen'), await bench.pass('frozen')];
    console.log(`paused from creation, writes per pass: ${JSON.stringify(passes)}`);
    expect(passes.flatMap(secretWrites)).toEqual([]);
    expect(await bench.secretVersions('frozen')).toEqual({});
    // Paused means paused: no child at all, only the status and one event saying so.
    expect(passes.flat().filter((w) => !w.startsWith('status'))).toEqual(['event Paused']);
    expect(passes[2]).toEqual([]);
    const status = (await bench.cluster('frozen')).status!;
    expect(status.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('a running cluster paused while its certificates fall due renews nothing until it is resumed', async () => {
    await bench.create('thawed');
    await bench.settle('thawed');
    const before = await bench.secretVersions('thawed');
    expect(Object.keys(before).sort()).toEqual(['Secret/thawed-ca', 'Secret/thawed-client-tls', 'Secret/thawed-operator-client-tls', 'Secret/thawed-peer-tls', 'Secret/thawed-server-tls']);

    await paused('thawed', true);
    // Every leaf falls due (365 days of validity, renewed 30 days before expiry), and one is gone.
    bench.daysAhead = 340;
    await bench.kubectl('delete', 'secret', 'thawed-client-tls', '-n', bench.ns);
    const passes = [await bench.pass('thawed'), await bench.pass('thawed'), await bench.pass('thawed')];
    console.log(`paused with certificates due, writes per pass: ${JSON.stringify(passes)}`);
    expect(passes.flatMap(secretWrites)).toEqual([]);
    expect(passes.flat().filter((w) => w.startsWith('apply ') || w.startsWith('delete ')), 'no child written while paused').toEqual([]);
    const kept = Object.fromEntries(Object.entries(before).filter(([k]) => k !== 'Secret/thawed-client-tls'));
    expect(await bench.secretVersions('thawed')).toEqual(kept);
    expect(passes.flat().filter((w) => w === 'event Paused')).toHaveLength(1);

    // Resumed, the same pass renews them: the pause, not the clock, held them back.
    await paused('thawed', false);
    const resumed = await bench.pass('thawed');
    expect(secretWrites(resumed).sort()).toEqual(['apply Secret/thawed-client-tls', 'apply Secret/thawed-operator-client-tls', 'apply Secret/thawed-peer-tls', 'apply Secret/thawed-server-tls']);
  });
});
