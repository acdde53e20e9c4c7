import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import winston from 'winston';
import { Informer } from '../../src/runtime/informer.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';

// A list larger than one page: every page reaches the store. With more than 500 objects of a kind
// (100 clusters hold 500 Secrets) the informer kept only the first page, and every pass of the
// clusters past it read their Secrets live (bench/many-clusters.ts).
describe('informer list pages', () => {
  let cp: ControlPlane;
  const ns = 'informer-pages';

  beforeAll(async () => {
    cp = await startControlPlane('informer-pages');
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    for (let i = 0; i < 7; i++) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}`, labels: { paged: 'yes' } } } });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('follows the continue token to the last page', async () => {
    const log = winston.createLogger({ silent: true });
    const informer = new Informer({ kc: cp.kubeConfig(), resource: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' }, namespace: ns, labelSelector: 'paged=yes', log, pageSize: 3 });
    informer.start();
    try {
      await informer.synced;
      expect(informer.store.list(ns).map((c) => c.metadata!.name).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `cm-${i}`));
    } finally {
      await informer.stop();
    }
  });
});
