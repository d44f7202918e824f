/**
 * Reading registry-framed Avro the way a consumer of a subject must: with the writer's schema (from the
 * registry) resolved to the consumer's reader schema (schemas/*.avsc) by the Avro resolution rules, and
 * strictly — an `int` beyond 32 bits or a `long` beyond what a JavaScript number holds exactly is a
 * malformed message naming the field, never a silently wrong number. Pure (no I/O besides reading
 * schemas/ once).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avsc, { type Type } from 'avsc';
import { SCHEMAS_DIR } from './schemas.ts';

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

interface NamedType {
  readonly name?: string;
  readonly aliases?: readonly string[];
  readonly typeName: string;
}

function typeName(t: Type): string {
  return (t as unknown as NamedType).typeName;
}

function fullName(schema: { name?: string; namespace?: string }): string | undefined {
  if (!schema.name) return undefined;
  return schema.name.includes('.') || !schema.namespace ? schema.name : `${schema.namespace}.${schema.name}`;
}

interface ReaderEntry {
  readonly schema: Record<string, unknown>;
  readonly type: Type;
}

let readers: Map<string, ReaderEntry> | undefined;

/** The reader schemas: every record in schemas/*.avsc by its full name (e.g. com.creditrisk.v1.LoanApplication). */
export function readerSchemas(): ReadonlyMap<string, ReaderEntry> {
  if (!readers) {
    readers = new Map();
    for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.avsc')).sort()) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as Record<string, unknown>;
      const name = fullName(schema as { name?: string; namespace?: string });
      if (name) readers.set(name, { schema, type: avsc.Type.forSchema(schema as avsc.Schema) });
    }
  }
  return readers;
}

/** A check of a decoded value: the path of the first out-of-range int, or undefined when all are in range. */
export type RangeCheck = (value: unknown) => string | undefined;

/**
 * Compiles a check that every `int` in a value of type `t` lies in 32 bits (avsc's reader accepts longer
 * varints for ints without complaint). Undefined when `t` holds no ints.
 */
export function compileIntRangeCheck(t: Type, path = ''): RangeCheck | undefined {
  const kind = typeName(t);
  if (kind === 'int') return (v) => (typeof v === 'number' && (v < INT_MIN || v > INT_MAX || !Number.isInteger(v)) ? path || '(value)' : undefined);
  if (kind === 'record' || kind === 'error') {
    const checks: [string, RangeCheck][] = [];
    for (const f of (t as unknown as { fields: { name: string; type: Type }[] }).fields) {
      const c = compileIntRangeCheck(f.type, path ? `${path}.${f.name}` : f.name);
      if (c) checks.push([f.name, c]);
    }
    if (checks.length === 0) return undefined;
    return (v) => {
      if (typeof v !== 'object' || v === null) return undefined;
      const o = v as Record<string, unknown>;
      for (const [name, c] of checks) {
        const bad = c(o[name]);
        if (bad !== undefined) return bad;
      }
      return undefined;
    };
  }
  if (kind === 'array') {
    const c = compileIntRangeCheck((t as unknown as { itemsType: Type }).itemsType, `${path}[]`);
    return c && ((v) => (Array.isArray(v) ? v.map(c).find((x) => x !== undefined) : undefined));
  }
  if (kind === 'map') {
    const c = compileIntRangeCheck((t as unknown as { valuesType: Type }).valuesType, `${path}{}`);
    return c && ((v) => (typeof v === 'object' && v !== null ? Object.values(v).map(c).find((x) => x !== undefined) : undefined));
  }
  if (kind === 'union:unwrapped') {
    const branches = (t as unknown as { types: Type[] }).types;
    // A number in a union is an int only when no other numeric branch could hold it.
    const numeric = branches.filter((b) => ['int', 'long', 'float', 'double'].includes(typeName(b)));
    const intCheck = numeric.length === 1 && typeName(numeric[0]!) === 'int' ? compileIntRangeCheck(numeric[0]!, path) : undefined;
    const objectChecks = branches
      .filter((b) => typeName(b) !== 'int')
      .map((b) => compileIntRangeCheck(b, path))
      .filter((c): c is RangeCheck => c !== undefined);
    if (!intCheck && objectChecks.length === 0) return undefined;
    return (v) => {
      if (typeof v === 'number') return intCheck?.(v);
      if (typeof v !== 'object' || v === null) return undefined;
      for (const c of objectChecks) {
        const bad = c(v);
        if (bad !== undefined) return bad;
      }
      return undefined;
    };
  }
  return undefined;
}

/**
 * Finds the field of a writer record whose bytes fail to decode (e.g. a long beyond 2^53, which avsc
 * refuses with "potential precision loss"), by decoding the fields one by one. For error messages only.
 */
export function locateFault(writer: Type, body: Buffer): string | undefined {
  if (!['record', 'error'].includes(typeName(writer))) return undefined;
  let pos = 0;
  for (const f of (writer as unknown as { fields: { name: string; type: Type }[] }).fields) {
    try {
      const r = f.type.decode(body, pos);
      if (r.offset < 0) return f.name;
      pos = r.offset;
    } catch {
      return f.name;
    }
  }
  return undefined;
}

const NAMED_KINDS = new Set(['record', 'error', 'enum', 'fixed']);

/** The named types (records, enums, fixed) of a type tree: full name -> kind. */
export function namedTypesOf(t: Type, out: Map<string, string> = new Map()): Map<string, string> {
  const kind = typeName(t);
  const name = (t as unknown as NamedType).name;
  if (name && NAMED_KINDS.has(kind)) {
    if (out.has(name)) return out;
    out.set(name, kind === 'error' ? 'record' : kind);
  }
  const x = t as unknown as { fields?: { type: Type }[]; itemsType?: Type; valuesType?: Type; types?: Type[]; underlyingType?: Type };
  for (const f of x.fields ?? []) namedTypesOf(f.type, out);
  for (const c of [x.itemsType, x.valuesType, x.underlyingType, ...(x.types ?? [])]) if (c) namedTypesOf(c, out);
  return out;
}

const unqualified = (full: string) => full.slice(full.lastIndexOf('.') + 1);
/** An alias naming a full name exactly (avsc qualifies a dotless alias with the reader's namespace). */
const aliasOf = (full: string) => (full.includes('.') ? full : `.${full}`);

/**
 * The Avro specification matches named types by their *unqualified* name in schema resolution (a writer
 * record team.x.LoanApplication is read as the reader's LoanApplication in its own namespace); avsc matches full names
 * and aliases. This gives every named type of the reader schema (JSON, nested ones included) an alias for
 * each writer named type of the same unqualified name and kind in another namespace. Returns the schema
 * unchanged (same object) when there is none.
 */
export function aliasWriterNamespaces(readerSchema: Record<string, unknown>, writerNames: ReadonlyMap<string, string>): Record<string, unknown> {
  const byShort = new Map<string, { full: string; kind: string }[]>();
  for (const [full, kind] of writerNames) {
    const k = unqualified(full);
    byShort.set(k, [...(byShort.get(k) ?? []), { full, kind }]);
  }
  let added = 0;
  const walk = (s: unknown, ns: string | undefined): unknown => {
    if (Array.isArray(s)) return s.map((b) => walk(b, ns));
    if (typeof s !== 'object' || s === null) return s;
    const o = s as Record<string, unknown>;
    const kind = typeof o.type === 'string' ? o.type : undefined;
    if (kind && NAMED_KINDS.has(kind) && typeof o.name === 'string') {
      const full = fullName({ name: o.name, ...(typeof o.namespace === 'string' ? { namespace: o.namespace } : ns ? { namespace: ns } : {}) })!;
      const inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : undefined;
      const extra = (byShort.get(unqualified(full)) ?? []).filter((w) => w.full !== full && w.kind === (kind === 'error' ? 'record' : kind)).map((w) => aliasOf(w.full));
      added += extra.length;
      const out: Record<string, unknown> = { ...o, ...(extra.length ? { aliases: [...((o.aliases as string[] | undefined) ?? []), ...extra] } : {}) };
      if (Array.isArray(o.fields)) out.fields = (o.fields as Record<string, unknown>[]).map((f) => ({ ...f, type: walk(f.type, inner) }));
      return out;
    }
    if (kind === 'array') return { ...o, items: walk(o.items, ns) };
    if (kind === 'map') return { ...o, values: walk(o.values, ns) };
    if (typeof o.type === 'object') return { ...o, type: walk(o.type, ns) };
    return o;
  };
  const out = walk(readerSchema, undefined) as Record<string, unknown>;
  return added ? out : readerSchema;
}

/** Reads a body written with one writer schema as the reader's type. */
export type BodyReader = (body: Buffer) => unknown;

export type ReaderPlan =
  | { readonly ok: true; readonly read: BodyReader; readonly resolved: boolean; /** The type values come out in. */ readonly readerType: Type }
  | { readonly ok: false; readonly reason: string };

/**
 * Plans how to read data written with `writer` as the record `readerName` (a record of schemas/):
 * directly when the writer's schema is the reader's (canonical form), else through an avsc resolver.
 * Names match as the Avro specification says: by unqualified name, so a writer whose record (or nested
 * enum, fixed, record) sits in another namespace resolves (`aliasWriterNamespaces`); and the alias rule
 * both ways round: the reader's name or aliases match the writer's name, or the writer lists the
 * reader's name among its aliases (a record renamed in a later version that keeps its old name as an
 * alias). Not-resolvable writers give the resolver's reason. A record name that is not in schemas/ is
 * read with the writer's schema when the names are equal.
 */
export function planReader(writer: Type, readerName: string): ReaderPlan {
  const reader = readerSchemas().get(readerName);
  const writerName = (writer as unknown as NamedType).name;
  if (!reader) {
    if (writerName !== readerName) return { ok: false, reason: `is ${writerName ?? 'not a record'}, expected ${readerName}` };
    return { ok: true, read: (b) => writer.fromBuffer(b), resolved: false, readerType: writer };
  }
  if (reader.type.equals(writer)) return { ok: true, read: (b) => writer.fromBuffer(b), resolved: false, readerType: writer };
  let schema = aliasWriterNamespaces(reader.schema, namedTypesOf(writer));
  const writerAliases = (writer as unknown as NamedType).aliases ?? [];
  if (writerName && writerName !== readerName && unqualified(writerName) !== unqualified(readerName) && writerAliases.includes(readerName)) {
    schema = { ...schema, aliases: [...((schema.aliases as string[] | undefined) ?? []), aliasOf(writerName)] };
  }
  const readerType = schema === reader.schema ? reader.type : avsc.Type.forSchema(schema as avsc.Schema);
  try {
    const resolver = readerType.createResolver(writer);
    return { ok: true, read: (b) => readerType.fromBuffer(b, resolver), resolved: true, readerType };
  } catch (e) {
    return { ok: false, reason: `${writerName ?? 'the writer schema'} cannot be read as ${readerName} by Avro schema resolution: ${(e as Error).message}` };
  }
}
