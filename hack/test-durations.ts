/**
 * Writes test/durations.json (seconds per integration and end-to-end file, which the test
 * sequencer starts longest first) from vitest's record of the last run on this machine. Run it
 * after a full `npm test`: `hack/node.sh npx tsx hack/test-durations.ts`. A file run alone since
 * then is recorded with its time alone, shorter than beside another, so run it after full runs only.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/harness/binaries.js';

const cacheDir = join(repoRoot, 'node_modules', '.vite', 'vitest');
const table: Record<string, number> = {};
for (const dir of readdirSync(cacheDir)) {
  let results: [string, { duration?: number }][];
  try {
    results = (JSON.parse(readFileSync(join(cacheDir, dir, 'results.json'), 'utf8')) as { results: [string, { duration?: number }][] }).results;
  } catch {
    continue;
  }
  for (const [key, { duration }] of results) {
    if (duration !== undefined && /^(integration|e2e):/.test(key)) table[key] = Math.round(duration / 1000);
  }
}
if (Object.keys(table).length === 0) throw new Error(`no integration or end-to-end results under ${cacheDir}: run npm test first`);
const sorted = Object.fromEntries(Object.entries(table).sort(([a], [b]) => (a < b ? -1 : 1)));
writeFileSync(join(repoRoot, 'test', 'durations.json'), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);
