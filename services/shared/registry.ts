/**
 * The schema-registry adapter (Confluent API; Apicurio serves it under /apis/ccompat/v7). Registers our
 * schemas under the topic-name strategy with BACKWARD compatibility, encodes with cached ids, and decodes
 * returning a Result: a message the registry cannot explain is a bad message (an Err), a registry that
 * cannot be reached is a retriable error (thrown).
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { Type } from 'avsc';
import { compileIntRangeCheck, locateFault, planReader, type BodyReader, type RangeCheck } from './avro-read.ts';
import { ServiceError } from './errors.ts';
import { httpCall, tlsAgent, type HttpResponse } from './http-client.ts';
import { err, ok, type Result } from './result.ts';
import { schemaText } from './schemas.ts';
import { frame, parseFrame } from './wire.ts';

export type DecodeErrorCode = 'DECODE_MAGIC_BYTE' | 'DECODE_UNKNOWN_SCHEMA' | 'DECODE_MALFORMED' | 'DECODE_WRONG_SCHEMA';
export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly reason: string;
  readonly schemaId?: number;
  /** The field at fault, when one is (an out-of-range int, a long beyond 2^53, truncated bytes). */
  readonly field?: string;
}

type Plan = { readonly ok: true; readonly read: BodyReader; readonly check: RangeCheck | undefined; readonly writer: Type } | { readonly ok: false; readonly reason: string };

function fieldValue(value: unknown, path: string): string {
  let v: unknown = value;
  for (const part of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  return String(v);
}

export interface RegistryConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM of the CA that signed the registry's certificate (SCHEMA_REGISTRY_CA_FILE); else the system's CAs. */
  readonly ca?: string;
}

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

export class AvroRegistry {
  private readonly client: SchemaRegistry;
  private readonly types = new Map<number, Type>();
  /** Ids whose lookup returned 404: remembered so a flood of them does not hit the registry. */
  private readonly unknown = new Set<number>();
  /** How to read each (writer schema id, reader record) pair: resolved once, then reused for every message. */
  private readonly plans = new Map<number, Map<string, Plan>>();

  private readonly agent: ReturnType<typeof tlsAgent>;

  constructor(private readonly config: RegistryConfig) {
    this.agent = tlsAgent(config.ca);
    this.client = new SchemaRegistry({
      host: config.url,
      ...(this.agent ? { agent: this.agent } : {}),
      ...(config.username ? { auth: { username: config.username, password: config.password ?? '' } } : {}),
      retry: { retries: 2 },
    });
  }

  private authHeaders(): Record<string, string> {
    if (!this.config.username) return {};
    return { authorization: `Basic ${Buffer.from(`${this.config.username}:${this.config.password ?? ''}`).toString('base64')}` };
  }

  /** The writer schema (parsed JSON) of a schema id; undefined when the registry does not know it. */
  async writerSchema(id: number): Promise<unknown | undefined> {
    let res: HttpResponse;
    try {
      res = await httpCall(`${this.config.url}/schemas/ids/${id}`, { headers: this.authHeaders(), timeoutMs: 10_000 }, this.agent);
    } catch (e) {
      throw new ServiceError('REGISTRY_UNAVAILABLE', `schema registry at ${this.config.url} unreachable: ${(e as Error).message}`, true, { id }, { cause: e });
    }
    if (res.status === 404) return undefined;
    if (!res.ok) throw new ServiceError('REGISTRY_UNAVAILABLE', `schema id ${id}: registry answered ${res.status}`, res.status >= 500, { id });
    const body = (await res.json()) as { schema?: string };
    return body.schema ? (JSON.parse(body.schema) as unknown) : undefined;
  }

  /** Sets a subject's compatibility level (Confluent `PUT /config/{subject}`). */
  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    let res: HttpResponse;
    try {
      res = await httpCall(
        `${this.config.url}/config/${encodeURIComponent(subject)}`,
        { method: 'PUT', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...this.authHeaders() }, body: JSON.stringify({ compatibility: level }), timeoutMs: 10_000 },
        this.agent,
      );
    } catch (e) {
      throw new ServiceError('REGISTRY_UNAVAILABLE', `schema registry at ${this.config.url} unreachable: ${(e as Error).message}`, true, { subject }, { cause: e });
    }
    if (res.ok) return;
    const body = await res.text();
    // Instances starting together race to create the subject's rule; Apicurio answers the loser 409
    // "rule already exists". That is success if the level in force is the one asked for.
    if (res.status === 409 && (await this.compatibility(subject)) === level) return;
    throw new ServiceError('SCHEMA_REGISTRATION_FAILED', `setting ${level} on ${subject} failed: ${res.status} ${body}`, res.status >= 500 || res.status === 409, { subject });
  }

  /** The compatibility level in force for a subject (Confluent `GET /config/{subject}`), if it has one. */
  async compatibility(subject: string): Promise<string | undefined> {
    try {
      const res = await httpCall(`${this.config.url}/config/${encodeURIComponent(subject)}`, { headers: this.authHeaders(), timeoutMs: 10_000 }, this.agent);
      if (!res.ok) return undefined;
      const j = (await res.json()) as { compatibilityLevel?: string; compatibility?: string };
      return j.compatibilityLevel ?? j.compatibility;
    } catch {
      return undefined;
    }
  }

  /**
   * Registers `schemaName` (a file in schemas/) under `<topic>-value` with the given compatibility, and
   * returns its id. Re-registering the same schema returns the same id. An incompatible schema is refused
   * by the registry (non-retriable).
   */
  async registerValueSchema(topic: string, schemaName: string, compatibility: Compatibility = 'BACKWARD'): Promise<number> {
    return this.registerSchema(`${topic}-value`, schemaText(schemaName), compatibility);
  }

  async registerSchema(subject: string, schema: string, compatibility: Compatibility = 'BACKWARD'): Promise<number> {
    await this.setCompatibility(subject, compatibility);
    try {
      const { id } = await this.client.register({ type: SchemaType.AVRO, schema }, { subject });
      return id;
    } catch (e) {
      const status = (e as { status?: number }).status;
      const incompatible = status === 409;
      throw new ServiceError(
        'SCHEMA_REGISTRATION_FAILED',
        incompatible ? `schema for ${subject} is incompatible with the registered versions (${compatibility}): ${(e as Error).message}` : `registering ${subject} failed: ${(e as Error).message}`,
        !incompatible && status !== 422,
        { subject, status },
        { cause: e },
      );
    }
  }

  private async typeFor(schemaId: number): Promise<Type | undefined> {
    const cached = this.types.get(schemaId);
    if (cached) return cached;
    if (this.unknown.has(schemaId)) return undefined;
    try {
      const t = (await this.client.getSchema(schemaId)) as unknown as Type;
      this.types.set(schemaId, t);
      return t;
    } catch (e) {
      if ((e as { status?: number }).status === 404) {
        this.unknown.add(schemaId);
        return undefined;
      }
      throw new ServiceError('REGISTRY_UNAVAILABLE', `schema registry lookup of id ${schemaId} failed: ${(e as Error).message}`, true, { schemaId }, { cause: e });
    }
  }

  /** The plan for reading `schemaId` as `reader` (cached per pair: one avsc resolver per writer id). */
  private plan(schemaId: number, t: Type, reader: string | undefined): Plan {
    let byReader = this.plans.get(schemaId);
    if (!byReader) this.plans.set(schemaId, (byReader = new Map()));
    let p = byReader.get(reader ?? '');
    if (!p) {
      if (reader === undefined) {
        p = { ok: true, read: (b) => t.fromBuffer(b), check: compileIntRangeCheck(t), writer: t };
      } else {
        const r = planReader(t, reader);
        p = r.ok ? { ok: true, read: r.read, check: compileIntRangeCheck(r.readerType), writer: t } : { ok: false, reason: r.reason };
      }
      byReader.set(reader ?? '', p);
    }
    return p;
  }

  /**
   * Decodes a wire-format message. With `expectRecord` (a record's full name, e.g.
   * com.creditrisk.v1.LoanApplication) the writer's schema is resolved to that record's schema in
   * schemas/ by the Avro resolution rules, so every version of a subject that resolves is read, in the
   * reader's shape. Errs for bad messages (wrong magic byte, unknown schema id, a writer schema that does
   * not resolve to the reader's, bytes that are not valid Avro, an int beyond 32 bits or a long beyond
   * 2^53, naming the field); throws a retriable ServiceError when the registry cannot be reached.
   */
  async decode<T = Record<string, unknown>>(buf: Buffer | null, expectRecord?: string): Promise<Result<{ schemaId: number; value: T }, DecodeError>> {
    const quick = this.decodeCached<T>(buf, expectRecord);
    if (quick) return quick;
    const schemaId = (parseFrame(buf) as { ok: true; value: { schemaId: number } }).value.schemaId;
    const t = await this.typeFor(schemaId);
    if (!t) return err({ code: 'DECODE_UNKNOWN_SCHEMA', reason: `schema id ${schemaId} is not known to the schema registry`, schemaId });
    return this.decodeCached<T>(buf, expectRecord)!;
  }

  /**
   * Synchronous decode for the common case: returns the Result when the frame is bad or its schema is
   * already known (cached, or remembered as unknown), and undefined when the registry must be asked.
   */
  decodeCached<T = Record<string, unknown>>(buf: Buffer | null, expectRecord?: string): Result<{ schemaId: number; value: T }, DecodeError> | undefined {
    const f = parseFrame(buf);
    if (!f.ok) return f;
    const { schemaId, body } = f.value;
    const t = this.types.get(schemaId);
    if (!t) {
      if (this.unknown.has(schemaId)) return err({ code: 'DECODE_UNKNOWN_SCHEMA', reason: `schema id ${schemaId} is not known to the schema registry`, schemaId });
      return undefined;
    }
    const p = this.plan(schemaId, t, expectRecord);
    if (!p.ok) return err({ code: 'DECODE_WRONG_SCHEMA', reason: `schema id ${schemaId}: ${p.reason}`, schemaId });
    let value: unknown;
    try {
      value = p.read(body);
    } catch (e) {
      const field = locateFault(p.writer, body);
      return err({ code: 'DECODE_MALFORMED', reason: `not valid Avro for schema id ${schemaId}${field ? `, field ${field}` : ''}: ${(e as Error).message}`, schemaId, ...(field ? { field } : {}) });
    }
    const bad = p.check?.(value);
    if (bad !== undefined) {
      return err({ code: 'DECODE_MALFORMED', reason: `not valid Avro for schema id ${schemaId}, field ${bad}: int ${fieldValue(value, bad)} is outside 32 bits`, schemaId, field: bad });
    }
    return ok({ schemaId, value: value as T });
  }

  /** Encodes `value` with the (registered) schema `schemaId`; throws if the value does not fit the schema. */
  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    const t = await this.typeFor(schemaId);
    if (!t) throw new ServiceError('STATE_INVALID', `schema id ${schemaId} is not registered`, false, { schemaId });
    return frame(schemaId, t.toBuffer(value));
  }

  /** Synchronous encode for ids already resolved by `encode`/`registerValueSchema` + `warm`. */
  encodeSync(schemaId: number, value: unknown): Buffer {
    const t = this.types.get(schemaId);
    if (!t) throw new ServiceError('STATE_INVALID', `schema id ${schemaId} not warmed; call warm(${schemaId}) first`, false, { schemaId });
    return frame(schemaId, t.toBuffer(value));
  }

  async warm(schemaId: number): Promise<void> {
    if (!(await this.typeFor(schemaId))) throw new ServiceError('STATE_INVALID', `schema id ${schemaId} is not registered`, false, { schemaId });
  }
}
