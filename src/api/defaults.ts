/**
 * The spec defaults, read from the schema (never restated), and the same structural defaulting
 * the API server applies: a missing field takes its default, then objects are walked. Objects
 * read from the API server are already defaulted; this serves code and tests that build specs.
 */
import type { Schema } from './schema-builders.js';
import { specSchema } from './schema-spec.js';
import type { EtcdClusterSpec } from './types.generated.js';

type DeepPartial<T> = T extends object ? (T extends unknown[] ? T : { [K in keyof T]?: DeepPartial<T[K]> }) : T;

export type EtcdClusterSpecInput = DeepPartial<EtcdClusterSpec>;

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function applyDefaults(schema: Schema, value: unknown): unknown {
  const filled = value === undefined && schema.default !== undefined ? structuredClone(schema.default) : value;
  if (!isPlainObject(filled) || !schema.properties) return filled;
  const out: Record<string, unknown> = { ...filled };
  for (const [name, field] of Object.entries(schema.properties)) {
    const defaulted = applyDefaults(field, out[name]);
    if (defaulted !== undefined) out[name] = defaulted;
  }
  return out;
}

/** A spec with every default filled in, as the API server would store it. Does not mutate. */
export function withDefaults(spec: EtcdClusterSpecInput = {}): EtcdClusterSpec {
  return applyDefaults(specSchema, structuredClone(spec)) as EtcdClusterSpec;
}

/** The spec of a cluster created with `spec: {}`. */
export const specDefaults: Readonly<EtcdClusterSpec> = Object.freeze(withDefaults());
