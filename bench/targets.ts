// The targets of issue 19 beside what one run measured: which were met, in how many samples.
// Pure; rendered at the top of RESULTS.md so that nobody has to find them among the tables.
import type { Figure, Unit } from './results.js';
import { median } from './stats.js';

export interface Target {
  /** The figure the target applies to. */
  figure: string;
  /** The target in words, as the issue states it. */
  text: string;
  /** The unit of the figure and of the bound. */
  unit: Unit;
  /** The bound in the figure's unit, or undefined when its floor was not measured in the run. */
  bound: (figures: Figure[]) => number | undefined;
}

const fixed = (n: number) => () => n;
/** The median of a floor figure of the same run, plus a margin. */
const floorPlus = (floorId: string, marginMs: number) => (figures: Figure[]) => {
  const floor = figures.find((f) => f.id === floorId);
  return floor && floor.samples.length > 0 ? median(floor.samples) + marginMs : undefined;
};

export const targets: Target[] = [
  { figure: 'recovery.kill', unit: 'ms', text: 'member SIGKILLed -> pods Ready and status converged <= 1.5 s', bound: fixed(1500) },
  { figure: 'ready.3.pods', unit: 'ms', text: 'apply -> 3/3 pods Ready <= floor (bare 3-member start, this run) + 1.5 s', bound: floorPlus('floor.start3', 1500) },
  { figure: 'scale.up.pods.afterAdd', unit: 'ms', text: 'scale 3 -> 5 -> pods Ready <= etcd\'s refusal window + 1.5 s (timed from etcd accepting the first learner)', bound: fixed(1500) },
  { figure: 'many.ready', unit: 'ms', text: '200 one-member + 20 three-member clusters applied together -> all Available <= 3 min', bound: fixed(180_000) },
  { figure: 'many.rss', unit: 'MiB', text: 'operator RSS at 200 clusters <= 250 MiB', bound: fixed(250) },
  { figure: 'many.cpu', unit: '% of a core', text: 'operator CPU when quiet at 200 clusters <= 5 % of a core', bound: fixed(5) },
  { figure: 'many.eventToWrite.p99', unit: 'ms', text: 'event -> first write p99 <= 100 ms while 1 % of the clusters change every second', bound: fixed(100) },
];

export interface TargetRow {
  text: string;
  figure: string;
  unit: Unit;
  bound?: number;
  samples: number[];
  /** Samples within the bound. */
  met: number;
}

/** One row per target, with the samples of the run that measured it (none when it did not). */
export function targetRows(figures: Figure[]): TargetRow[] {
  return targets.map((t) => {
    const f = figures.find((x) => x.id === t.figure);
    const bound = t.bound(figures);
    const samples = f?.samples ?? [];
    return { text: t.text, figure: t.figure, unit: t.unit, bound, samples, met: bound === undefined ? 0 : samples.filter((s) => s <= bound).length };
  });
}

/** The verdict of one row: met when the median is within the bound, with the count of samples within it. */
export function verdict(row: TargetRow): string {
  if (row.samples.length === 0) return 'not measured in this run';
  if (row.bound === undefined) return 'no floor in this run';
  const within = median(row.samples) <= row.bound;
  return `${within ? '**met**' : '**missed**'} (${row.met} of ${row.samples.length} samples within)`;
}
