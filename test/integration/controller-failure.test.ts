import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReconcilerBench } from './reconciler-bench.js';

// A pass that fails still tells the truth. The reproduction was spec.storage.size grown
// on a running cluster (the StatefulSet update refused every pass); growth is now carried out
// (src/storage), so here a ValidatingAdmissionPolicy refuses every update of the cluster's
// StatefulSet, and a changed option needs one. Before, the conditions kept saying "membership
// matches the spec" and "no problems observed", with no event. No kubelet runs here: etcd never answers.
describe('a failing pass reports', () => {
  let bench: ReconcilerBench;
  beforeAll(async () => {
    bench = await ReconcilerBench.start('controller-failure');
  });
  afterAll(async () => bench?.stop());

  it('Degraded with the API server\'s refusal, one Warning event, observedGeneration unchanged, and kubectl get shows it', async () => {
    await bench.create('grow');
    await bench.settle('grow');
    const before = (await bench.cluster('grow')).status!;
    expect(before.observedGeneration).toBe(1);
    await refuseStatefulSetUpdates(bench, 'grow');
    await bench.kubectl('patch', 'etcdcluster', 'grow', '-n', bench.ns, '--type=merge', '-p', '{"spec":{"options":{"snapshot-count":"5000"}}}');

    const errors: unknown[] = [];
    for (let i = 0; i < 3; i++) await bench.pass('grow').catch((err: unknown) => errors.push(err));
    expect(errors).toHaveLength(3);

    const cluster = await bench.cluster('grow');
    expect(cluster.metadata.generation).toBe(2);
    expect(cluster.status!.observedGeneration, 'the spec of generation 2 was not carried out').toBe(1);
    const degraded = cluster.status!.conditions!.find((c) => c.type === 'Degraded')!;
    expect(degraded).toMatchObject({ status: 'True', reason: 'KubernetesRefused', observedGeneration: 2 });
    expect(degraded.message).toContain('PATCH /apis/apps/v1/namespaces/default/statefulsets/grow');
    expect(degraded.message).toContain('HTTP 422');
    const events = await bench.kubectl('get', 'events', '-n', bench.ns, '--field-selector', 'involvedObject.name=grow,reason=KubernetesRefused', '-o', 'jsonpath={range .items[*]}{.type} {.count}{"\\n"}{end}');
    expect(events.trim().split('\n'), 'one Warning, not one per failing pass').toEqual(['Warning 1']);
    const row = await bench.kubectl('get', 'etcdcluster', 'grow', '-n', bench.ns, '--no-headers');
    expect(row).toContain('KubernetesRefused');
  });
});

/** A policy that refuses every update of one StatefulSet, in force once a dry run is refused. */
async function refuseStatefulSetUpdates(bench: ReconcilerBench, name: string): Promise<void> {
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: `freeze-${name}` },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['statefulsets'] }] },
      matchConditions: [{ name: 'this-cluster', expression: `object.metadata.name == '${name}'` }],
      validations: [{ expression: 'false', message: `updates of StatefulSet ${name} are frozen by the test` }],
    },
  };
  const binding = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: `freeze-${name}` }, spec: { policyName: `freeze-${name}`, validationActions: ['Deny'] } };
  await bench.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [policy, binding] }) });
  for (let i = 0; i < 100; i++) {
    const probe = await bench.cp.kubectl(['label', 'statefulset', name, '-n', bench.ns, 'probe=1', '--dry-run=server']);
    if (probe.code !== 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the policy never took effect');
}
