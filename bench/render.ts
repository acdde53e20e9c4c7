// Re-renders bench/RESULTS.md from bench/results.json, after the notes or the layout changed,
// without running the scenarios again. Run: npx tsx bench/render.ts [dir]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/harness/binaries.js';
import { type Report, renderMarkdown } from './report.js';

const dir = process.argv[2] ?? join(repoRoot, 'bench');
const report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Report;
writeFileSync(join(dir, 'RESULTS.md'), renderMarkdown(report));
console.log(`wrote ${join(dir, 'RESULTS.md')}`);
