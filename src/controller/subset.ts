/**
 * Whether every field of `desired` is present with an equal value in `live`. Server-side apply of
 * an object that passes this check would change nothing, so the pass skips the request: a quiet
 * pass must cost the API server no writes. Fields the server added (defaults, status, managed
 * fields) do not matter; lists must match element by element and in length, because an applied
 * list replaces the live one.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') return desired === live;
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => isSubset(d, live[i]));
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  const liveRecord = live as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isSubset(v, liveRecord[k]));
}

/** Deep equality of two JSON values, ignoring key order and undefined fields. */
export function sameJson(a: unknown, b: unknown): boolean {
  return isSubset(a, b) && isSubset(b, a);
}
