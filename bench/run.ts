// The benchmark runner: every scenario several times, beside the floor measured in the same run.
// Run: npx tsx bench/run.ts [--runs N] [--quick] [--only floor,ready,scale,scalebig,recovery,quiet,upgrade,consent,operator,backup,starve,restore,many]
// `--only many` takes `--clusters 200,100,50,10,1` (the largest is the fleet) and `--churn-seconds 60`; it runs dist/main.js.
// Writes bench/results.json and bench/RESULTS.md. Figures are reported, never asserted.
// `--render` only writes RESULTS.md again from results.json (after editing bench/notes.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/harness/binaries.js';
import { backupBench } from './backup.js';
import { type BenchEnvironment, startBenchEnvironment } from './env.js';
import { floorScenarios } from './floor.js';
import { gitCommit, loadAverage, machine } from './machine.js';
import { operatorScale } from './operator-scale.js';
import { quietPass } from './quiet.js';
import { recovery } from './recovery.js';
import { consentBench } from './recovery-consent.js';
import { manyClusters } from './many-clusters.js';
import { renderMarkdown } from './report.js';
import { Results } from './results.js';
import { scaling, timeToReady } from './scenarios.js';
import { scalingLarge } from './scale-large.js';
import { restoreBench } from './restore.js';
import { starvation } from './starve.js';
import { upgradeBench } from './upgrade.js';

const sections = ['floor', 'ready', 'scale', 'scalebig', 'recovery', 'quiet', 'upgrade', 'consent', 'operator', 'backup', 'starve', 'restore', 'many'] as const;
type Section = (typeof sections)[number];

export interface RunOptions {
  runs: number;
  quick: boolean;
  /** Cluster counts for the operator's scale; the quick run stops at 5. */
  clusterCounts: number[];
  /** The many-clusters section's counts (the largest is the fleet) and seconds of churn. */
  many: { counts: number[]; churnSeconds: number };
}

function options(): { run: RunOptions; only: Set<Section>; out: string; render: boolean } {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' }, render: { type: 'boolean', default: false }, clusters: { type: 'string' }, 'churn-seconds': { type: 'string' } } });
  const quick = values.quick ?? false;
  const only = new Set((values.only?.split(',') ?? sections) as Section[]);
  for (const s of only) if (!sections.includes(s)) throw new Error(`unknown section ${s}; known: ${sections.join(', ')}`);
  const runs = Number(values.runs ?? (quick ? 1 : 5));
  const many = { counts: (values.clusters ?? (quick ? '10,1' : '200,100,50,10,1')).split(',').map(Number), churnSeconds: Number(values['churn-seconds'] ?? (quick ? 20 : 60)) };
  return { run: { runs, quick, clusterCounts: quick ? [1, 5] : [1, 10, 50], many }, only, out: values.out ?? join(repoRoot, 'bench'), render: values.render ?? false };
}

/** Runs one section; a failure is recorded and the next section still runs. */
async function section(results: Results, name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  console.log(`[bench] ${name}: start (load ${loadAverage().join(' ')})`);
  try {
    await fn();
  } catch (err) {
    results.failed(name, err);
  }
  results.details[`seconds.${name}`] = Math.round((Date.now() - t0) / 1000);
  results.details[`load.after.${name}`] = loadAverage().join(' ');
}

async function main(): Promise<void> {
  const { run, only, out, render } = options();
  if (render) {
    writeFileSync(join(out, 'RESULTS.md'), renderMarkdown(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Parameters<typeof renderMarkdown>[0]));
    console.log(`[bench] rendered ${join(out, 'RESULTS.md')} from results.json`);
    return;
  }
  const results = new Results();
  const started = new Date();
  const before = machine();
  if (only.has('floor')) await section(results, 'floor', () => floorScenarios(results, run.runs));
  const kube = (['ready', 'scale', 'scalebig', 'recovery', 'quiet', 'upgrade', 'consent'] as const).filter((s) => only.has(s));
  if (kube.length > 0) {
    let env: BenchEnvironment | undefined;
    await section(results, 'environment', async () => {
      env = await startBenchEnvironment('bench');
      await env.startOperator();
    });
    try {
      if (env) {
        const e = env;
        if (only.has('ready')) await section(results, 'ready', () => timeToReady(e, results, run));
        if (only.has('scale')) await section(results, 'scale', () => scaling(e, results, run));
        if (only.has('scalebig')) await section(results, 'scalebig', () => scalingLarge(e, results, run));
        if (only.has('recovery')) await section(results, 'recovery', () => recovery(e, results, run));
        if (only.has('quiet')) await section(results, 'quiet', () => quietPass(e, results, run));
        // Its floor (a bare rolling restart) is measured inside the section, round by round.
        if (only.has('upgrade')) await section(results, 'upgrade', () => upgradeBench(e, results, run));
        // Its floor (a bare --force-new-cluster restart plus two learner adds) is measured round by round.
        if (only.has('consent')) await section(results, 'consent', () => consentBench(e, results, run));
      }
    } finally {
      await env?.stop();
    }
  }
  // A fresh control plane and operator, so that memory figures start from a clean process.
  if (only.has('operator')) await section(results, 'operator', () => operatorScale(results, run));
  // Its own control plane, operator and MinIO: a 1 GiB database (256 MiB in a quick run).
  if (only.has('backup')) await section(results, 'backup', () => backupBench(results, run));
  // Its own control plane and operator: the hung member must not slow the other sections.
  if (only.has('starve')) await section(results, 'starve', () => starvation(results, run));
  // Its own control plane, operator and MinIO: a 256 MiB database restored into 3 members.
  if (only.has('restore')) await section(results, 'restore', () => restoreBench(results, run));
  // Its own control plane and compiled operator: up to 200 + 20 clusters at once.
  if (only.has('many')) await section(results, 'many', () => manyClusters(results, run.many));
  const report = {
    commit: gitCommit(),
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    options: { ...run, sections: [...only] },
    machine: { ...before, loadAverageAtEnd: loadAverage() },
    figures: results.figures,
    errors: results.errors,
    details: results.details,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, 'RESULTS.md'), renderMarkdown(report));
  console.log(`[bench] wrote ${join(out, 'results.json')} and RESULTS.md in ${report.durationSeconds} s`);
}

await main();
