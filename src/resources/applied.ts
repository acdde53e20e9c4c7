/**
 * What the operator last applied to a child, carried by the child itself.
 *
 * A pass skips a server-side apply when every desired field is already live (`isSubset`), so a
 * quiet pass writes nothing. That check cannot see a field the spec no longer asks for: a
 * nodeSelector removed from spec.podTemplate is still on the live StatefulSet, the desired object
 * is a subset of it, and the apply that would remove it (server-side apply drops fields the
 * operator's field manager no longer sends) never happens. Stamping each applied object with a
 * digest of itself makes any change of the desired object, removals included, a change of one
 * annotation the subset check does see. The stamp is on the object's own metadata, never on a pod
 * template, so stamping a child that predates it restarts no member.
 */
import { createHash } from 'node:crypto';
import { annotationKeys } from './names.js';

interface Stampable {
  metadata?: { name?: string; annotations?: Record<string, string> };
}

/** JSON with object keys sorted, so equal objects built in another key order digest alike. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/** The digest of an object as it would be applied, leaving out its own stamp. */
export function appliedDigest(obj: Stampable): string {
  const annotations = { ...obj.metadata?.annotations };
  delete annotations[annotationKeys.applied];
  const bare = { ...obj, metadata: { ...obj.metadata, annotations } };
  return createHash('sha256').update(canonical(bare)).digest('hex').slice(0, 16);
}

/** The object with its digest in metadata.annotations: what every apply of a child sends. */
export function stamped<T extends Stampable>(obj: T): T;
export function stamped<T extends Stampable>(obj: T | undefined): T | undefined;
export function stamped<T extends Stampable>(obj: T | undefined): T | undefined {
  if (!obj) return obj;
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [annotationKeys.applied]: appliedDigest(obj) } } };
}
