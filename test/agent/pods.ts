import type { V1Pod } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';
import { PodWorker, type WorkerContext } from './pod-worker.js';

type Pod = Wire<V1Pod>;

/** The pods bound to this node, one worker each, keyed by UID (a recreated pod is a new pod). */
export class PodManager {
  private readonly workers = new Map<string, PodWorker>();

  constructor(
    private readonly ctx: WorkerContext,
    private readonly nodeName: string,
  ) {}

  sync(pods: readonly Pod[]): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata?.uid;
      if (!uid || pod.spec?.nodeName !== this.nodeName) continue;
      seen.add(uid);
      let worker = this.workers.get(uid);
      if (!worker) this.workers.set(uid, (worker = new PodWorker(this.ctx, pod)));
      worker.update(pod);
    }
    for (const [uid, worker] of this.workers) {
      if (seen.has(uid)) continue;
      // A finished worker is forgotten once its pod is gone; a live one lost its pod and stops.
      if (worker.finished) this.workers.delete(uid);
      else worker.podGone();
    }
  }

  count(): number {
    return this.workers.size;
  }

  async shutdown(graceMs: number): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.shutdown(graceMs)));
    this.workers.clear();
  }
}
