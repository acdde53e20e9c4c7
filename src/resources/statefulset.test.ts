import { describe, expect, it } from 'vitest';
import { sampleCluster } from './fixtures.js';
import { buildStatefulSet } from './statefulset.js';

const container = (sts: ReturnType<typeof buildStatefulSet>) => sts.spec!.template.spec!.containers[0]!;

describe('buildStatefulSet', () => {
  it('runs etcd with explicit TLS flags, per-pod values through $(VAR)', () => {
    const args = container(buildStatefulSet(sampleCluster(), 3, 'trust-hash')).args!;
    expect(args).toContain('--name=$(POD_NAME)');
    expect(args).toContain('--listen-client-urls=https://$(POD_IP):2379');
    expect(args).toContain('--advertise-client-urls=https://$(POD_NAME).main-peer.db.svc.cluster.local:2379');
    expect(args).toContain('--initial-advertise-peer-urls=https://$(POD_NAME).main-peer.db.svc.cluster.local:2380');
    expect(args).toContain('--listen-metrics-urls=http://$(POD_IP):2381');
    expect(args).toContain('--initial-cluster=$(ETCD_OPERATOR_INITIAL_CLUSTER)$(ETCD_OPERATOR_EMPTY_DATA_REFUSAL)');
    expect(args).toContain('--client-cert-auth=true');
    expect(args).toContain('--peer-client-cert-auth=true');
    expect(args).toContain('--initial-cluster-token=db-main-uid-1');
  });

  it('appends user options sorted, and lets them override the operator defaults', () => {
    const args = container(buildStatefulSet(sampleCluster({ options: { 'quota-backend-bytes': '8589934592', 'auto-compaction-retention': '10m' } }), 3, 'trust-hash')).args!;
    expect(args.filter((a) => a.startsWith('--auto-compaction-retention'))).toEqual(['--auto-compaction-retention=10m']);
    expect(args.slice(-4)).toEqual(['--auto-compaction-mode=periodic', '--auto-compaction-retention=10m', '--feature-gates=CompactHashCheck=true,InitialCorruptCheck=true', '--quota-backend-bytes=8589934592']);
  });

  it('probes :2381 with endpoints that a leader election or full disk does not fail', () => {
    const c = container(buildStatefulSet(sampleCluster(), 3, 'trust-hash'));
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/livez', port: 2381 });
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 2381 });
    expect(c.startupProbe?.httpGet).toMatchObject({ path: '/livez', port: 2381 });
    const old = container(buildStatefulSet(sampleCluster({ version: '3.5.35' }), 3, 'trust-hash'));
    expect(old.livenessProbe?.httpGet?.path).toBe('/health?exclude=NOSPACE&serializable=true');
  });

  it('meets the restricted Pod Security Standard', () => {
    const sts = buildStatefulSet(sampleCluster(), 3, 'trust-hash');
    const pod = sts.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container(sts).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('claims a volume per member, or uses emptyDir in ephemeral mode', () => {
    const pvc = buildStatefulSet(sampleCluster({ storage: { type: 'PersistentVolumeClaim', size: '20Gi', storageClassName: 'fast', retentionPolicy: 'Delete' } }), 3, 'trust-hash');
    expect(pvc.spec!.volumeClaimTemplates![0]!.spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '20Gi' } } });
    expect(pvc.spec!.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Delete', whenScaled: 'Delete' });
    const ephemeral = buildStatefulSet(sampleCluster({ storage: { type: 'EmptyDir', size: '1Gi', retentionPolicy: 'Retain' } }), 1, 'trust-hash');
    expect(ephemeral.spec!.volumeClaimTemplates).toBeUndefined();
    expect(ephemeral.spec!.template.spec!.volumes).toContainEqual({ name: 'data', emptyDir: { sizeLimit: '1Gi' } });
  });

  it('merges the user podTemplate without touching the selector labels', () => {
    const sts = buildStatefulSet(
      sampleCluster({
        podTemplate: {
          metadata: { labels: { team: 'a', 'app.kubernetes.io/instance': 'hijack' }, annotations: { note: 'x' } },
          nodeSelector: { disk: 'ssd' },
          priorityClassName: 'high',
          tolerations: [{ key: 'dedicated', operator: 'Exists' }],
        },
      }),
      3,
      'trust-hash',
    );
    const t = sts.spec!.template;
    expect(t.metadata!.labels).toMatchObject({ team: 'a', 'app.kubernetes.io/instance': 'main' });
    expect(sts.spec!.selector.matchLabels).toEqual(Object.fromEntries(Object.entries(t.metadata!.labels!).filter(([k]) => k in sts.spec!.selector.matchLabels!)));
    expect(t.metadata!.annotations).toEqual({ note: 'x', 'etcd.operator.dev/trust-bundle-hash': 'trust-hash' });
    expect(t.spec).toMatchObject({ nodeSelector: { disk: 'ssd' }, priorityClassName: 'high', tolerations: [{ key: 'dedicated', operator: 'Exists' }] });
    expect(t.spec!.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
  });

  it('is pure: same input, same output; input untouched', () => {
    const cluster = sampleCluster({ options: { 'snapshot-count': '5000' } });
    const before = JSON.stringify(cluster);
    expect(JSON.stringify(buildStatefulSet(cluster, 3, 'trust-hash'))).toBe(JSON.stringify(buildStatefulSet(cluster, 3, 'trust-hash')));
    expect(JSON.stringify(cluster)).toBe(before);
  });

  it('takes its replica count from the plan and stays OnDelete and Parallel', () => {
    const sts = buildStatefulSet(sampleCluster({ replicas: 5 }), 4, 'trust-hash');
    expect(sts.spec).toMatchObject({ replicas: 4, podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' }, serviceName: 'main-peer' });
    expect(sts.metadata!.ownerReferences![0]).toMatchObject({ kind: 'EtcdCluster', name: 'main', uid: 'uid-1', controller: true });
  });
});
