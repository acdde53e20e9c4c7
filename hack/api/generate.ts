/** Writes the CRD and the TypeScript types from src/api's schema: `npx tsx hack/api/generate.ts`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdPath, renderCrd, renderTypes, typesPath } from './render.js';

const root = join(import.meta.dirname, '..', '..');
writeFileSync(join(root, crdPath), renderCrd());
writeFileSync(join(root, typesPath), await renderTypes());
console.log(`wrote ${crdPath} and ${typesPath}`);
