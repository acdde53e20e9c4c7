import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedVersions, repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';
import { startProcess } from '../harness/process.js';
import { waitFor } from '../harness/wait.js';

const run = promisify(execFile);

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions: continuations joined, comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** Docker's .dockerignore rules as this repo uses them: glob patterns, `!` exceptions, last match wins, a match on a directory covers its contents. */
function dockerignore(text: string): (path: string) => boolean {
  const toRegex = (glob: string) =>
    new RegExp(`^${glob.replace(/\/$/, '').replace(/[.+^${}()|[\]]/g, '\\$&').replace(/\*\*\//g, '\uE000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\uE000/g, '(?:.*/)?')}(?:/.*)?$`);
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => ({ exclude: !l.startsWith('!'), re: toRegex(l.replace(/^!/, '')) }));
  return (path) => rules.reduce((excluded, rule) => (rule.re.test(path) ? rule.exclude : excluded), false);
}

/** Every file of the build context: the repository minus what .dockerignore excludes. */
function contextFiles(): string[] {
  const excluded = dockerignore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = relative(repoRoot, join(dir, entry.name));
      if (entry.name === '.git' || entry.name === 'node_modules') continue;
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (!excluded(path)) files.push(path);
    }
  };
  walk(repoRoot);
  return files.sort();
}

const npm = (args: string[], cwd: string) => run('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], { cwd, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 });

// No container engine runs here, so the Dockerfile is checked by parts: its structure, that every
// COPY source is in the build context, and each stage's commands run for real in a temporary copy
// of that context. The runtime layout (package.json, production node_modules, dist) then runs
// the operator against a real API server from a read-only directory.
describe('Dockerfile', () => {
  const instructions = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  const froms = instructions.filter((i) => i.op === 'FROM');
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'etcd-operator-image-'));
  });
  afterAll(async () => {
    if (!work) return;
    // The runtime test made its copy read-only.
    await run('chmod', ['-R', 'u+w', work]);
    rmSync(work, { recursive: true, force: true });
  });

  it('has build, deps and a distroless non-root runtime stage on one Node major', () => {
    expect(froms.map((f) => f.args)).toEqual([
      'node:${NODE_MAJOR}-bookworm-slim AS build',
      'node:${NODE_MAJOR}-bookworm-slim AS deps',
      'gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot',
    ]);
    // The image ships the Node major the tests and the demo run on.
    expect(instructions[0]).toEqual({ op: 'ARG', args: `NODE_MAJOR=${pinnedVersions.node.split('.')[0]}` });
    const runtime = instructions.slice(instructions.indexOf(froms[2]!));
    expect(runtime.find((i) => i.op === 'USER')?.args).toBe('65532:65532');
    expect(runtime.filter((i) => i.op === 'RUN')).toEqual([]);
    const entrypoint = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entrypoint).toEqual(['/nodejs/bin/node', '--max-semi-space-size=4', '--heap-growing-percent=10', '--enable-source-maps', 'dist/main.js']);
    for (const copy of runtime.filter((i) => i.op === 'COPY')) expect(copy.args).toMatch(/^--from=(build|deps) /);
  });

  it('copies only sources that are in the build context', () => {
    const context = contextFiles();
    expect(context).toContain('src/main.ts');
    expect(context.some((f) => f.endsWith('.test.ts') || f.startsWith('test/') || f.startsWith('dist/'))).toBe(false);
    for (const copy of instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) expect(context.some((f) => f === source || f.startsWith(`${source}/`)), source).toBe(true);
    }
  });

  it('builds dist/ with the build stage commands (npm ci, npm run build) in a copy of the context', async () => {
    const context = join(work, 'build');
    for (const file of contextFiles()) {
      mkdirSync(join(context, file, '..'), { recursive: true });
      cpSync(join(repoRoot, file), join(context, file));
    }
    await npm(['ci'], context);
    await run('npm', ['run', 'build'], { cwd: context, timeout: 300_000 });
    expect(existsSync(join(context, 'dist', 'main.js'))).toBe(true);
    expect(readdirSync(join(context, 'dist'), { recursive: true }).some((f) => String(f).endsWith('.test.js'))).toBe(false);
  }, 600_000);

  it('installs production dependencies only with the deps stage command (npm ci --omit=dev)', async () => {
    const deps = join(work, 'deps');
    mkdirSync(deps);
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(repoRoot, f), join(deps, f));
    await npm(['ci', '--omit=dev'], deps);
    // The lockfile marks what only dev dependencies need ("dev": true); @types/node, say, is not
    // among them, because a production dependency requires it.
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    for (const [path, meta] of entries) {
      if (meta.dev) expect(existsSync(join(deps, path)), path).toBe(false);
      else if (!meta.optional) expect(existsSync(join(deps, path)), path).toBe(true);
    }
    expect(existsSync(join(deps, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(deps, 'node_modules', '@kubernetes', 'client-node'))).toBe(true);
  }, 600_000);

  describe('runtime layout', () => {
    let cp: ControlPlane;
    beforeAll(async () => {
      cp = await startControlPlane('deploy-image');
      const crd = await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
      expect(crd.code, crd.stderr).toBe(0);
    });
    afterAll(async () => cp?.stop());

    it('runs the entrypoint from package.json, production node_modules and dist alone, read-only, until /readyz', async () => {
      const app = join(work, 'app');
      mkdirSync(app);
      cpSync(join(work, 'deps', 'package.json'), join(app, 'package.json'));
      cpSync(join(work, 'deps', 'node_modules'), join(app, 'node_modules'), { recursive: true });
      cpSync(join(work, 'build', 'dist'), join(app, 'dist'), { recursive: true });
      // As readOnlyRootFilesystem: the operator must not need to write next to its code.
      await run('chmod', ['-R', 'a-w', app]);
      const runtime = instructions.slice(instructions.indexOf(froms[2]!));
      // WORKDIR /app: the entrypoint's relative script path resolves against it.
      const [, ...entryArgs] = (JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args) as string[]).map((a) => (a.endsWith('.js') ? join(app, a) : a));
      const args = [...entryArgs, `--kubeconfig=${cp.kubeconfigPath}`, '--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=127.0.0.1:0', '--leader-election-namespace=default'];
      const operator = startProcess('image-operator', process.execPath, args, { logDir: cp.dir, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' } });
      try {
        const address = await waitFor('health server address', () => {
          const line = readFileSync(operator.logPath, 'utf8').split('\n').find((l) => l.includes('"server":"health"') && l.includes('"serving"'));
          return line ? (JSON.parse(line) as { address: string }).address : undefined;
        }, { process: operator, timeoutMs: 60_000 });
        await waitFor('/readyz', async () => (await fetch(`http://${address}/readyz`)).status === 200, { process: operator });
      } finally {
        // A generous grace: a slow shutdown on a loaded machine must not become a SIGKILL.
        await operator.stop(30_000);
      }
      expect(await operator.exited).toBe(0);
    }, 120_000);
  });
});
