/**
 * Five-field cron schedules (minute hour day-of-month month day-of-week), in UTC, as Kubernetes
 * CronJobs read them: `*`, `a-b`, `a,b`, steps (`*\/15`, `1-30/2`), day-of-week 0-7 (0 and 7 are
 * Sunday), and day-of-month OR day-of-week when both are restricted. Pure: the clock is an argument.
 */

export interface Cron {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Both day fields restricted: a day matches when either does. */
  daysOr: boolean;
  domStar: boolean;
  dowStar: boolean;
}

const fields = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

const macros: Record<string, string> = { '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@weekly': '0 0 * * 0', '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *' };

function parseField(text: string, f: (typeof fields)[number]): Set<number> | string {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return `${f.name} field '${text}' is not a number, range, list or step`;
    const lo = m[1] === '*' ? f.min : Number(m[2]);
    const hi = m[1] === '*' ? f.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? f.max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < f.min || hi > f.max || lo > hi || step < 1) return `${f.name} field '${text}' is outside ${f.min}-${f.max}`;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** The schedule, or a message saying what is wrong with it. */
export function parseCron(expression: string): Cron | { error: string } {
  const text = macros[expression.trim()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) return { error: `schedule '${expression}' needs 5 fields (minute hour day-of-month month day-of-week), found ${parts.length}` };
  const sets: Set<number>[] = [];
  for (const [i, part] of parts.entries()) {
    const parsed = parseField(part, fields[i]!);
    if (typeof parsed === 'string') return { error: `schedule '${expression}': ${parsed}` };
    sets.push(parsed);
  }
  const weekdays = new Set([...sets[4]!].map((d) => d % 7));
  const domStar = parts[2]!.startsWith('*');
  const dowStar = parts[4]!.startsWith('*');
  return { minutes: sets[0]!, hours: sets[1]!, days: sets[2]!, months: sets[3]!, weekdays, daysOr: !domStar && !dowStar, domStar, dowStar };
}

function dayMatches(c: Cron, t: Date): boolean {
  const dom = c.days.has(t.getUTCDate());
  const dow = c.weekdays.has(t.getUTCDay());
  if (c.daysOr) return dom || dow;
  return (c.domStar || dom) && (c.dowStar || dow);
}

const minuteMs = 60_000;

/** The first fire time strictly after `after`, or undefined when none comes within 5 years (Feb 30). */
export function nextFire(c: Cron, after: Date): Date | undefined {
  const t = new Date(Math.floor(after.getTime() / minuteMs) * minuteMs + minuteMs);
  const limit = after.getTime() + 5 * 366 * 86_400_000;
  while (t.getTime() <= limit) {
    if (!c.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(c, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!c.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
    } else if (!c.minutes.has(t.getUTCMinutes())) {
      t.setTime(t.getTime() + minuteMs);
    } else {
      return t;
    }
  }
  return undefined;
}

/**
 * The latest fire time in (from, to], if any: the slot a scheduler should run now. Missed slots
 * before it are skipped, as a CronJob does, rather than run back to back after an outage.
 */
export function latestFire(c: Cron, from: Date, to: Date): Date | undefined {
  let last: Date | undefined;
  // Bounded: a schedule every minute over a long outage still ends; the newest slot is what counts.
  let t = nextFire(c, from);
  for (let i = 0; t && t.getTime() <= to.getTime() && i < 100_000; i++) {
    last = t;
    t = nextFire(c, t);
  }
  return last;
}

/**
 * The longest time between two consecutive slots, over the slots of the next eight years (at
 * most 1,000): "0 2 * * 1-5" gives three days (Friday to Monday), "0 0 31 * *" 61 days. What an
 * alert on stale backups compares with. Undefined when fewer than two slots come.
 */
export function longestIntervalMs(c: Cron, from: Date): number | undefined {
  const horizon = from.getTime() + 8 * 366 * 86_400_000;
  let longest: number | undefined;
  let previous = nextFire(c, from);
  for (let i = 0; previous && i < 1_000; i++) {
    const next = nextFire(c, previous);
    if (!next || next.getTime() > horizon) break;
    longest = Math.max(longest ?? 0, next.getTime() - previous.getTime());
    previous = next;
  }
  return longest;
}
