import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const pinned = /^NODE_VERSION=(\d+)\.\d+\.\d+$/m.exec(read('hack/versions.env'))?.[1];

// One Node: hack/versions.env pins it for the tests and the demo; the image and the package's
// engines must name the same major, and every script that runs a JavaScript tool must run it on it.
describe('the pinned Node', () => {
  it('is a full version in hack/versions.env, with the integrity of each build setup may install', () => {
    expect(pinned).toBeDefined();
    expect(read('hack/versions.env')).toMatch(/^NODE_INTEGRITY_X64=sha512-[A-Za-z0-9+/]{86}==$/m);
    expect(read('hack/versions.env')).toMatch(/^NODE_INTEGRITY_ARM64=sha512-[A-Za-z0-9+/]{86}==$/m);
  });

  it('is the major the image ships and package.json requires', () => {
    expect(read('Dockerfile')).toMatch(new RegExp(`^ARG NODE_MAJOR=${pinned}$`, 'm'));
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${pinned}`);
  });

  it('runs every tool the package scripts start', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    // Except build: the image's build stage runs it too, on the image's own Node, where hack/ is
    // not in the build context; tsc's output does not depend on the Node that runs it.
    delete scripts.build;
    for (const [name, script] of Object.entries(scripts)) {
      for (const command of script.split('&&').map((c) => c.trim())) {
        const tool = command.split(/\s+/)[0]!;
        if (['vitest', 'tsx', 'tsc', 'eslint', 'node', 'npx'].includes(tool)) expect.fail(`script "${name}" runs ${tool} on whatever Node runs npm: start it with hack/node.sh`);
      }
    }
  });
});
