import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { etcdBackupCrd, etcdClusterCrd } from '../../src/api/crd.js';
import { alertRulesPath, prometheusRulePath, renderPrometheusRule } from './monitoring.js';
import { chartRulesPath, clusterWideRbacPath, namespacedRbacPath, renderChartRules, renderClusterWideRbac, renderNamespacedRbac } from './rbac.js';
import { backupCrdCopyPaths, backupCrdPath, backupTypesPath, crdPath, renderBackupCrd, renderBackupTypes, renderCrd, renderTypes, typesPath } from './render.js';

const root = join(import.meta.dirname, '..', '..');
const committed = (path: string) => readFileSync(join(root, path), 'utf8');
const stale = (path: string) => `${path} is out of date with src/api/schema*.ts: run \`npx tsx hack/api/generate.ts\` and commit the result`;

// The schema in src/api is the one source; these fail when a generated file was edited by hand
// or not regenerated after a schema change.
describe('generated API files', () => {
  it('the committed CRD matches the schema', () => {
    expect(committed(crdPath) === renderCrd(), stale(crdPath)).toBe(true);
  });

  it('the committed TypeScript types match the schema', async () => {
    expect(committed(typesPath) === (await renderTypes()), stale(typesPath)).toBe(true);
  });

  it('the CRD file parses back to the CRD object', () => {
    expect(parse(committed(crdPath))).toEqual(etcdClusterCrd());
  });

  it('the CRD carries no TypeScript-only keywords', () => {
    expect(committed(crdPath)).not.toMatch(/^\s*(title|tsType):/m);
  });

  it('the committed EtcdBackup CRD, its copies and its types match the schema', async () => {
    for (const path of [backupCrdPath, ...backupCrdCopyPaths]) expect(committed(path) === renderBackupCrd(), stale(path)).toBe(true);
    expect(committed(backupTypesPath) === (await renderBackupTypes()), stale(backupTypesPath)).toBe(true);
    expect(parse(committed(backupCrdPath))).toEqual(etcdBackupCrd());
  });

  it('the committed RBAC manifests and the chart rules match hack/api/rbac.ts', () => {
    const rbac: [string, string][] = [[clusterWideRbacPath, renderClusterWideRbac()], [namespacedRbacPath, renderNamespacedRbac()], [chartRulesPath, renderChartRules()]];
    for (const [path, fresh] of rbac) expect(committed(path) === fresh, `${path} is out of date with hack/api/rbac.ts: run \`npx tsx hack/api/generate.ts\` and commit the result`).toBe(true);
  });

  it('the committed PrometheusRule carries the alert rule groups promtool tests', () => {
    expect(committed(prometheusRulePath) === renderPrometheusRule(committed(alertRulesPath)), `${prometheusRulePath} is out of date with ${alertRulesPath}: run \`npx tsx hack/api/generate.ts\``).toBe(true);
  });
});
