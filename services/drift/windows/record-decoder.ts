/**
 * Decoding scoring-log messages for the drift monitor. The fast path reads only the drift fields through
 * a reader compiled per writer schema id (record-reader.ts), synchronously once the id is known; anything
 * else (an unknown id, another record type, a bad frame) goes through the registry's full decode, so bad
 * messages get the same reasons as everywhere else. Bad messages are values (Err), never exceptions; an
 * unreachable registry throws a retriable error.
 */
import type { AvroRegistry } from '../../shared/registry.ts';
import { err, ok, type Result } from '../../shared/result.ts';
import type { DriftRecord } from './layout.ts';
import { compileRecordReader, MalformedRecord, SCORING_LOG_RECORD, type RecordReader } from './record-reader.ts';

export interface Dropped {
  /** Metric label: decode_magic_byte, decode_unknown_schema, decode_malformed, decode_wrong_schema, no_event_time. */
  readonly reason: string;
}

/** The drift fields of a fully decoded scoring-log value; undefined without a usable event time. */
export function driftRecordOf(v: Record<string, unknown>): DriftRecord | undefined {
  const eventAt = v.submitted_at;
  const features = v.features;
  if (typeof eventAt !== 'number' || !Number.isFinite(eventAt) || typeof features !== 'object' || features === null) return undefined;
  return {
    applicationId: String(v.application_id),
    eventAt,
    features: features as Record<string, number>,
    score: typeof v.probability_of_default === 'number' ? v.probability_of_default : NaN,
    ...(typeof v.decision === 'string' ? { decision: v.decision } : {}),
  };
}

export class ScoringLogDecoder {
  private readonly readers = new Map<number, RecordReader | null>();

  constructor(
    private readonly registry: AvroRegistry,
    /** The writer schema (parsed JSON) of a schema id; undefined when the registry does not know it. */
    private readonly writerSchema: (id: number) => Promise<unknown | undefined>,
  ) {}

  /** Synchronous when the message's schema id has a compiled reader; undefined means: call decode(). */
  trySync(buf: Buffer | null): Result<DriftRecord, Dropped> | undefined {
    if (!buf || buf.length < 5 || buf[0] !== 0) return undefined;
    const read = this.readers.get(buf.readUInt32BE(1));
    if (!read) return undefined;
    try {
      return ok(read(buf.subarray(5)));
    } catch (e) {
      if (e instanceof MalformedRecord) return err({ reason: 'decode_malformed' });
      throw e;
    }
  }

  async decode(buf: Buffer | null): Promise<Result<DriftRecord, Dropped>> {
    const fast = this.trySync(buf);
    if (fast) return fast;
    if (buf && buf.length >= 5 && buf[0] === 0) {
      const id = buf.readUInt32BE(1);
      if (!this.readers.has(id)) {
        const schema = await this.writerSchema(id);
        this.readers.set(id, schema === undefined ? null : (compileRecordReader(schema) ?? null));
        const again = this.trySync(buf);
        if (again) return again;
      }
    }
    const r = await this.registry.decode(buf, SCORING_LOG_RECORD);
    if (!r.ok) return err({ reason: r.error.code.toLowerCase() });
    const rec = driftRecordOf(r.value.value);
    return rec ? ok(rec) : err({ reason: 'no_event_time' });
  }
}
