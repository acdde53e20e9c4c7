/** Writes the CRD and the TypeScript types from src/api's schema, and the RBAC rules from hack/api/rbac.ts: `npx tsx hack/api/generate.ts`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alertRulesPath, prometheusRulePath, renderPrometheusRule } from './monitoring.js';
import { chartRulesPath, clusterWideRbacPath, namespacedRbacPath, renderChartRules, renderClusterWideRbac, renderNamespacedRbac } from './rbac.js';
import { backupCrdCopyPaths, backupCrdPath, backupTypesPath, crdCopyPaths, crdPath, renderBackupCrd, renderBackupTypes, renderCrd, renderTypes, typesPath } from './render.js';

const root = join(import.meta.dirname, '..', '..');
const crd = renderCrd();
for (const path of [crdPath, ...crdCopyPaths]) writeFileSync(join(root, path), crd);
writeFileSync(join(root, typesPath), await renderTypes());
const backupCrd = renderBackupCrd();
for (const path of [backupCrdPath, ...backupCrdCopyPaths]) writeFileSync(join(root, path), backupCrd);
writeFileSync(join(root, backupTypesPath), await renderBackupTypes());
writeFileSync(join(root, clusterWideRbacPath), renderClusterWideRbac());
writeFileSync(join(root, namespacedRbacPath), renderNamespacedRbac());
writeFileSync(join(root, chartRulesPath), renderChartRules());
writeFileSync(join(root, prometheusRulePath), renderPrometheusRule(readFileSync(join(root, alertRulesPath), 'utf8')));
console.log(`wrote ${[prometheusRulePath, clusterWideRbacPath, namespacedRbacPath, chartRulesPath, crdPath, ...crdCopyPaths, typesPath, backupCrdPath, ...backupCrdCopyPaths, backupTypesPath].join(', ')}`);
