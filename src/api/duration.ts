const unitMs: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * A Go-style duration (`8760h`, `1h30m`, `90s`, `1.5h`) in milliseconds; the CRD admits only
 * these forms. Undefined for anything else.
 */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unitMs[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && text.length > 0 ? total : undefined;
}
