/**
 * The order test files start in: within a project, the longest first (by the seconds recorded in
 * `test/durations.json`, else vitest's own record of this machine's last run), and files with no
 * record before all of them, since a new file may be long. Two files run at a time, and each
 * takes the next file when it finishes, so longest-first leaves the shortest for the end: in the
 * clean-clone run of 2026-12-02 (vitest's default order, largest file first) the end-to-end
 * files' work was 3550 s and their wall time 1866 s against 1776 s for longest-first, and the
 * integration files' 513 s against 475 s.
 */
export interface Entry {
  project: string;
  /** Path from the repository root, as vitest's keys spell it. */
  file: string;
}

export type Seconds = (key: string) => number | undefined;

/** The key a file is recorded under: `<project>:<path>`, as in vitest's results cache. */
export function keyOf(entry: Entry): string {
  return `${entry.project}:${entry.file}`;
}

export function longestFirst<T extends Entry>(entries: T[], recorded: Seconds[]): T[] {
  const seconds = (e: T) => {
    for (const source of recorded) {
      const s = source(keyOf(e));
      if (s !== undefined) return s;
    }
    return Number.POSITIVE_INFINITY;
  };
  return entries
    .map((e, i) => ({ e, i, s: seconds(e) }))
    .sort((a, b) => (a.e.project !== b.e.project ? (a.e.project < b.e.project ? -1 : 1) : b.s - a.s || a.i - b.i))
    .map((x) => x.e);
}
