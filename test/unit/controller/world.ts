/**
 * One EtcdCluster, the reconciler over the fakes, and the parts of Kubernetes a unit test has to
 * play by hand: the StatefulSet controller and kubelet (pods and claims for the StatefulSet's
 * replicas, etcd processes starting in them) and time (a manual clock, no sleeps).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import winston from 'winston';
import type { EtcdCluster } from '../../../src/api/types.generated.js';
import { EtcdClusterReconciler } from '../../../src/controller/reconcile.js';
import { FakeClock } from '../../../src/runtime/clock.js';
import type { Result } from '../../../src/runtime/reconciler.js';
import { sampleCluster } from '../../../src/resources/fixtures.js';
import { parseMembershipConfig } from '../../../src/resources/membership-config.js';
import { type ClusterRef, memberPeerUrl, memberSelector, names } from '../../../src/resources/names.js';
import { FakeEtcdAdmin } from '../etcd/fake.js';
import { ApiStub, FakeAdminPool, FakeCache, RecordingWriter, type Write } from './fakes.js';

export const ref: ClusterRef = { namespace: 'db', name: 'main' };
export const key = 'db/main';
const domain = 'cluster.local';
const log = winston.createLogger({ silent: true });
const start = Date.parse('2026-01-01T00:00:00Z');

/** Pod IPs are 10.0.0.(10 + ordinal); members reach each other by those. */
export const clientUrl = (ordinal: number) => `https://10.0.0.${10 + ordinal}:2379`;

export interface Pass {
  result?: Result;
  error?: unknown;
  /** What the pass asked the writer to do, in order. */
  writes: Write[];
}

export class World {
  readonly clock = new FakeClock();
  readonly cache = new FakeCache();
  readonly writer: RecordingWriter;
  readonly admins = new FakeAdminPool();
  readonly reconciler: EtcdClusterReconciler;

  /** `secrets`: the certificate Secrets of an earlier world, so that keys are generated once per file. */
  constructor(readonly api: ApiStub, spec: Partial<EtcdCluster['spec']> = {}, secrets: KubernetesObject[] = []) {
    this.clock.advance(start);
    this.writer = new RecordingWriter(this.cache, this.clock);
    const cluster = sampleCluster(spec);
    cluster.metadata.creationTimestamp = new Date(start - 60_000).toISOString() as unknown as Date;
    this.cache.put(cluster);
    for (const secret of secrets) this.cache.put(secret);
    this.reconciler = new EtcdClusterReconciler({
      cache: this.cache,
      kc: api.kc,
      writer: this.writer,
      admins: this.admins,
      clock: this.clock,
      clusterDomain: domain,
      memberInitImage: 'etcd-operator:unit',
      pvcs: (ns) => this.cache.list('PersistentVolumeClaim', ns) as never,
    });
  }

  /** The fake etcd, once the StatefulSet's first pods started it. */
  get etcd(): FakeEtcdAdmin {
    if (!(this.admins.etcd instanceof FakeEtcdAdmin)) throw new Error('no fake etcd');
    return this.admins.etcd;
  }

  secrets(): KubernetesObject[] {
    return this.cache.list('Secret', ref.namespace) as KubernetesObject[];
  }

  cluster(): EtcdCluster {
    return this.cache.get('EtcdCluster', ref.namespace, ref.name) as unknown as EtcdCluster;
  }

  /** A user's edit of the spec: the generation moves, as the API server does it. */
  edit(spec: Partial<EtcdCluster['spec']>): void {
    const c = this.cluster();
    this.cache.put({ ...c, metadata: { ...c.metadata, generation: (c.metadata.generation ?? 1) + 1 }, spec: { ...c.spec, ...spec } } as KubernetesObject);
  }

  condition(type: string): { status: string; reason: string; message: string } | undefined {
    return this.cluster().status?.conditions?.find((c) => c.type === type);
  }

  /** One pass, a second later than the last; a pass that throws is returned, not thrown. */
  async pass(): Promise<Pass> {
    this.clock.advance(1_000);
    const before = this.writer.writes.length;
    const ctx = { log, passId: 'unit', signal: new AbortController().signal };
    try {
      const result = await this.reconciler.reconcile(key, ctx);
      return { result, writes: this.writer.writes.slice(before) };
    } catch (error) {
      return { error, writes: this.writer.writes.slice(before) };
    }
  }

  /**
   * The StatefulSet controller and kubelet: a pod and claim for each ordinal below its replicas,
   * none above (claims stay, as with retentionPolicy Retain). The first pods of a new cluster
   * bootstrap the fake etcd from the membership ConfigMap; a later pod starts the member added for
   * its ordinal. A learner catches up at once when `catchUp` (the default).
   */
  kubelet({ catchUp = true } = {}): void {
    const sts = this.cache.get('StatefulSet', ref.namespace, names.statefulSet(ref));
    const replicas = sts?.spec?.replicas ?? 0;
    for (const pod of this.cache.list('Pod', ref.namespace, memberSelector(ref))) {
      const ordinal = Number(pod.metadata!.name!.split('-').at(-1));
      if (ordinal >= replicas) this.cache.remove('Pod', ref.namespace, pod.metadata!.name!);
    }
    for (let i = 0; i < replicas; i++) this.runPod(i);
    const membership = parseMembershipConfig(this.cache.get('ConfigMap', ref.namespace, names.membershipConfig(ref)) as never);
    if (!(this.admins.etcd instanceof FakeEtcdAdmin) || this.admins.etcd.view().length === 0) {
      if (membership?.state !== 'new') return;
      this.admins.etcd = new FakeEtcdAdmin(membership.ordinals.map((i) => ({ name: names.member(ref, i), peerURL: memberPeerUrl(ref, i, domain), clientURL: clientUrl(i) })));
      return;
    }
    for (const m of this.etcd.view()) {
      const ordinal = Array.from({ length: replicas }, (_, i) => i).find((i) => m.peerURLs.includes(memberPeerUrl(ref, i, domain)));
      if (ordinal === undefined) continue;
      if (!m.running) this.etcd.startMember(m.id, names.member(ref, ordinal), clientUrl(ordinal));
      if (catchUp && !m.caughtUp) this.etcd.setCaughtUp(m.id);
    }
  }

  private runPod(ordinal: number): void {
    const name = names.member(ref, ordinal);
    const now = new Date(this.clock.now()).toISOString();
    if (!this.cache.get('Pod', ref.namespace, name)) {
      this.cache.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ref.namespace, uid: `uid-pod-${ordinal}-${now}`, labels: memberSelector(ref), creationTimestamp: now as never }, status: { podIP: `10.0.0.${10 + ordinal}`, phase: 'Running' } } as KubernetesObject);
    }
    const claim = names.dataVolumeClaim(ref, ordinal);
    const size = this.cluster().spec.storage.size;
    if (!this.cache.get('PersistentVolumeClaim', ref.namespace, claim)) {
      this.cache.put({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim, namespace: ref.namespace, uid: `uid-pvc-${ordinal}-${now}`, creationTimestamp: now as never }, spec: { storageClassName: 'local', resources: { requests: { storage: size } } }, status: { phase: 'Bound', capacity: { storage: size } } } as KubernetesObject);
    }
  }

  /** The pass wrote nothing but status, and nothing is under way. */
  quiet(pass: Pass): boolean {
    return pass.writes.every((w) => w.op === 'patchStatus') && this.condition('Progressing')?.status === 'False';
  }

  /** Passes (each followed by the kubelet) until one acts on nothing and waits for nothing. */
  async settle(maxPasses = 30): Promise<Pass[]> {
    const passes: Pass[] = [];
    for (let i = 0; i < maxPasses; i++) {
      const pass = await this.pass();
      passes.push(pass);
      if (pass.error) throw pass.error instanceof Error ? pass.error : new Error(JSON.stringify(pass.error));
      this.kubelet();
      if (this.quiet(pass)) return passes;
    }
    throw new Error(`not settled after ${maxPasses} passes: ${JSON.stringify(this.condition('Progressing'))}`);
  }
}
