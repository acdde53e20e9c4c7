/** Writes the CRD and the TypeScript types from src/api's schema: `npx tsx hack/api/generate.ts`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdCopyPaths, crdPath, renderCrd, renderTypes, typesPath } from './render.js';

const root = join(import.meta.dirname, '..', '..');
const crd = renderCrd();
for (const path of [crdPath, ...crdCopyPaths]) writeFileSync(join(root, path), crd);
writeFileSync(join(root, typesPath), await renderTypes());
console.log(`wrote ${[crdPath, ...crdCopyPaths, typesPath].join(', ')}`);
