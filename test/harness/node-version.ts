import { pinnedVersions } from './binaries.js';

/**
 * Vitest global setup: says which Node runs the tests (and so every process they start through
 * process.execPath), and warns when it is not the major pinned in hack/versions.env, as happens
 * when vitest is started from the machine's own Node instead of through the npm scripts.
 */
export default function setup(): void {
  const line = `node ${process.version} (${process.execPath})`;
  const pinnedMajor = pinnedVersions.node.split('.')[0];
  if (process.versions.node.split('.')[0] === pinnedMajor) {
    console.log(`tests run on ${line}`);
  } else {
    console.warn(`WARNING: tests run on ${line}, not the pinned Node ${pinnedVersions.node}: run them through the npm scripts (or hack/node.sh npx vitest ...)`);
  }
}
