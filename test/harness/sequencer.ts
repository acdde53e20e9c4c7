import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { repoRoot } from './binaries.js';
import { longestFirst } from './test-order.js';

/**
 * Starts the longest test files first (see `test-order.ts`). The seconds come from
 * `test/durations.json`, written from a full run by `hack/test-durations.ts`, so a clean clone
 * (which has no vitest cache) starts in the same order as a warm machine.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const table = JSON.parse(readFileSync(join(repoRoot, 'test', 'durations.json'), 'utf8')) as Record<string, number>;
    const entries = files.map((spec) => ({ spec, project: spec.project.name, file: relative(repoRoot, spec.moduleId) }));
    const cached = (key: string) => {
      const ms = this.ctx.cache.getFileTestResults(key)?.duration;
      return ms === undefined ? undefined : ms / 1000;
    };
    return Promise.resolve(longestFirst(entries, [(key) => table[key], cached]).map((e) => e.spec));
  }
}
