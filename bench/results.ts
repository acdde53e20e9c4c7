// The figures a run collects: raw samples per scenario, summarised when written.
import { median, percentile } from './stats.js';

export type Unit = 'ms' | 'MiB' | '% of a core' | 'requests' | 'RPCs';

export interface Figure {
  /** Stable key, also used by other figures to name their floor. */
  id: string;
  section: string;
  label: string;
  unit: Unit;
  samples: number[];
  /** The id of the floor figure this one is compared with. */
  floor?: string;
  /** Why a figure is where it is, when that is not obvious. */
  note?: string;
}

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p10: number;
  p90: number;
}

export function summarise(samples: number[]): Summary | undefined {
  if (samples.length === 0) return undefined;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: samples.length, median: r(median(samples)), min: r(Math.min(...samples)), max: r(Math.max(...samples)), p10: r(percentile(samples, 10)), p90: r(percentile(samples, 90)) };
}

/** Collects figures; a scenario that fails records its error instead of stopping the run. */
export class Results {
  readonly figures: Figure[] = [];
  readonly errors: { section: string; error: string }[] = [];
  readonly details: Record<string, unknown> = {};

  /** The figure with this id, created on first use; samples are appended. */
  figure(spec: Omit<Figure, 'samples'>): Figure {
    let f = this.figures.find((x) => x.id === spec.id);
    if (!f) this.figures.push((f = { ...spec, samples: [] }));
    return f;
  }

  add(spec: Omit<Figure, 'samples'>, sample: number): void {
    this.figure(spec).samples.push(Math.round(sample * 10) / 10);
  }

  get(id: string): Figure | undefined {
    return this.figures.find((f) => f.id === id);
  }

  failed(section: string, err: unknown): void {
    const error = err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err);
    this.errors.push({ section, error });
    console.error(`[bench] ${section} failed: ${error}`);
  }
}

/** Median of a figure over the median of its floor, or undefined when either is missing. */
export function ratioToFloor(results: { figures: Figure[] }, f: Figure): number | undefined {
  const floor = f.floor ? results.figures.find((x) => x.id === f.floor) : undefined;
  if (!floor || floor.samples.length === 0 || f.samples.length === 0) return undefined;
  const base = median(floor.samples);
  return base > 0 ? Math.round((median(f.samples) / base) * 10) / 10 : undefined;
}
