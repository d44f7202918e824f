/**
 * JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of the JSON form of an Avro record, so that the HTTP
 * contracts are derived from schemas/*.avsc instead of written a second time. Pure: Avro schema in, JSON
 * Schema out.
 *
 * Mapping: int/long -> integer, float/double -> number, string/bytes/fixed -> string, boolean, null, enum ->
 * string with its symbols, array, map -> object with additionalProperties, record -> object whose fields are
 * all `required` in a response (the services always write every field) and required unless they have a
 * default in a request; a union -> oneOf. Named types may be referenced by (full) name after their definition.
 */
export type JsonSchema = Record<string, unknown>;

export interface AvroToJsonOptions {
  /** Request bodies may omit fields that have an Avro default; responses carry every field. */
  readonly mode: 'request' | 'response';
}

type Named = Map<string, JsonSchema>;

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function convert(t: unknown, ns: string | undefined, named: Named, opts: AvroToJsonOptions): JsonSchema {
  if (typeof t === 'string') {
    switch (t) {
      case 'null':
        return { type: 'null' };
      case 'boolean':
        return { type: 'boolean' };
      case 'int':
        return { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 };
      case 'long':
        return { type: 'integer' };
      case 'float':
      case 'double':
        return { type: 'number' };
      case 'string':
      case 'bytes':
        return { type: 'string' };
      default: {
        const ref = named.get(fullName(t, ns)) ?? named.get(t);
        if (!ref) throw new Error(`Avro type ${t} is not defined before its use`);
        return ref;
      }
    }
  }
  if (Array.isArray(t)) return { oneOf: t.map((b) => convert(b, ns, named, opts)) };
  if (typeof t !== 'object' || t === null) throw new Error(`not an Avro type: ${JSON.stringify(t)}`);
  const o = t as { type: unknown; name?: string; namespace?: string; doc?: string; symbols?: string[]; items?: unknown; values?: unknown; fields?: AvroFieldLike[]; logicalType?: string };
  const doc = o.doc ? { description: o.doc } : {};
  switch (o.type) {
    case 'record':
    case 'error': {
      const space = o.namespace ?? ns;
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      const schema: JsonSchema = { type: 'object', ...doc, title: o.name, properties, required, additionalProperties: false };
      named.set(fullName(o.name!, space), schema);
      for (const f of o.fields ?? []) {
        const field = convert(f.type, space, named, opts);
        properties[f.name] = f.doc ? { ...field, description: f.doc } : field;
        if (opts.mode === 'response' || f.default === undefined) required.push(f.name);
      }
      return schema;
    }
    case 'enum': {
      const schema = { type: 'string', enum: [...(o.symbols ?? [])], title: o.name, ...doc };
      named.set(fullName(o.name!, o.namespace ?? ns), schema);
      return schema;
    }
    case 'fixed': {
      const schema = { type: 'string', title: o.name };
      named.set(fullName(o.name!, o.namespace ?? ns), schema);
      return schema;
    }
    case 'array':
      return { type: 'array', items: convert(o.items, ns, named, opts), ...doc };
    case 'map':
      return { type: 'object', additionalProperties: convert(o.values, ns, named, opts), ...doc };
    default: {
      const base = convert(o.type, ns, named, opts);
      return o.logicalType ? { ...base, description: `Avro ${o.type} (${o.logicalType})${o.logicalType.startsWith('timestamp-millis') ? ': epoch milliseconds' : ''}.` } : base;
    }
  }
}

interface AvroFieldLike {
  readonly name: string;
  readonly type: unknown;
  readonly doc?: string;
  readonly default?: unknown;
}

export function avroToJsonSchema(avro: unknown, opts: AvroToJsonOptions): JsonSchema {
  return convert(avro, undefined, new Map(), opts);
}
