/** Writes the CRD and the TypeScript types from src/api's schema: `npx tsx hack/api/generate.ts`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupCrdCopyPaths, backupCrdPath, backupTypesPath, crdCopyPaths, crdPath, renderBackupCrd, renderBackupTypes, renderCrd, renderTypes, typesPath } from './render.js';

const root = join(import.meta.dirname, '..', '..');
const crd = renderCrd();
for (const path of [crdPath, ...crdCopyPaths]) writeFileSync(join(root, path), crd);
writeFileSync(join(root, typesPath), await renderTypes());
const backupCrd = renderBackupCrd();
for (const path of [backupCrdPath, ...backupCrdCopyPaths]) writeFileSync(join(root, path), backupCrd);
writeFileSync(join(root, backupTypesPath), await renderBackupTypes());
console.log(`wrote ${[crdPath, ...crdCopyPaths, typesPath, backupCrdPath, ...backupCrdCopyPaths, backupTypesPath].join(', ')}`);
