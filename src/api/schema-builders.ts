/**
 * The subset of apiextensions.k8s.io/v1 JSONSchemaProps the EtcdCluster schema uses, written with
 * the wire names so the CRD is the object itself, plus small builders that keep the schema short.
 * `title` names a TypeScript interface in the generated types; the CRD generator drops it.
 */

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** Relative JSON path of the field the error is reported on, such as `.spec.version`. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  title?: string;
  description?: string;
  format?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  items?: Schema;
  anyOf?: Schema[];
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

type Extra = Omit<Schema, 'type' | 'description'>;

/** Every string that a CEL rule reads carries a maxLength, so the rule's cost can be bounded. */
export const string = (description: string, maxLength: number, extra: Extra = {}): Schema => ({ type: 'string', description, maxLength, ...extra });

export const int32 = (description: string, extra: Extra = {}): Schema => ({ type: 'integer', format: 'int32', description, ...extra });

export const int64 = (description: string, extra: Extra = {}): Schema => ({ type: 'integer', format: 'int64', description, ...extra });

export const boolean = (description: string, extra: Extra = {}): Schema => ({ type: 'boolean', description, ...extra });

export const enumOf = (description: string, values: string[], extra: Extra = {}): Schema => ({
  type: 'string',
  description,
  enum: values,
  ...extra,
});

export const object = (description: string, properties: Record<string, Schema>, extra: Extra = {}): Schema => ({
  type: 'object',
  description,
  properties,
  ...extra,
});

export const stringMap = (description: string, maxProperties: number, maxValueLength: number, extra: Extra = {}): Schema => ({
  type: 'object',
  description,
  maxProperties,
  additionalProperties: { type: 'string', maxLength: maxValueLength },
  ...extra,
});

export const array = (description: string, items: Schema, maxItems: number, extra: Extra = {}): Schema => ({
  type: 'array',
  description,
  items,
  maxItems,
  ...extra,
});

export const stringList = (description: string, maxItems: number, maxLength: number): Schema =>
  array(description, { type: 'string', maxLength }, maxItems, { 'x-kubernetes-list-type': 'atomic' });

/** A Kubernetes quantity as Pods take it: `500m`, `2`, `1Gi`, written as a number or a string. */
export const intOrStringQuantity = (description: string): Schema => ({
  description,
  // Structural schemas allow exactly this anyOf for int-or-string; bounds go beside it.
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  'x-kubernetes-int-or-string': true,
  maxLength: 64,
  'x-kubernetes-validations': [
    {
      rule: "type(self) == int ? self >= 0 : isQuantity(self) && quantity(self).compareTo(quantity('0')) >= 0",
      message: 'must be a non-negative Kubernetes quantity, such as 500m, 2 or 1Gi',
    },
  ],
});

/**
 * An object whose own default is made of its fields' defaults. The API server validates a default
 * as written (nested defaults are not applied to it), so a bare `{}` would fail the object's rules.
 */
export function defaultedObject(description: string, properties: Record<string, Schema>, extra: Extra = {}): Schema {
  const fieldDefaults = Object.entries(properties).filter(([, field]) => field.default !== undefined);
  return object(description, properties, { ...extra, default: Object.fromEntries(fieldDefaults.map(([name, field]) => [name, field.default])) });
}

/** A CEL list literal of strings, for rules built from TypeScript constants. */
export const celList = (values: readonly string[]): string => `[${values.map((v) => `'${v}'`).join(', ')}]`;
