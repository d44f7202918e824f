/**
 * Reads only what drift needs from a scoring-log record — application_id, submitted_at, features,
 * probability_of_default, decision (for the fairness windows) — with an avsc resolver from the record's writer schema to a reader schema of just
 * those fields (taken from schemas/scoring-log.avsc): the other fields are skipped, not materialized.
 * Compiled once per writer schema; about half the cost of decoding the whole record, and decoding is most
 * of the monitor's CPU. Pure.
 */
import avsc from 'avsc';
import { aliasWriterNamespaces, namedTypesOf } from '../../shared/avro-read.ts';
import { loadSchema, recordName } from '../../shared/schemas.ts';
import type { DriftRecord } from './layout.ts';

export const SCORING_LOG_RECORD = recordName('scoring-log');
const NEEDED = ['application_id', 'submitted_at', 'features', 'probability_of_default', 'decision'];

export type RecordReader = (body: Buffer) => DriftRecord;

export class MalformedRecord extends Error {}

let readerSchema: Record<string, unknown> | undefined;
let readerType: avsc.Type | undefined;
function reader(): avsc.Type {
  if (!readerType) {
    const s = loadSchema('scoring-log');
    readerSchema = { type: 'record', name: s.name, namespace: s.namespace, fields: s.fields.filter((f) => NEEDED.includes(f.name)) };
    readerType = avsc.Type.forSchema(readerSchema as avsc.Schema);
  }
  return readerType;
}

const unqualified = (n: string | undefined) => n?.slice(n.lastIndexOf('.') + 1);

/**
 * A reader for bodies written with `writerSchema` (parsed JSON), or undefined when that schema is not a
 * ScoringLogRecord the drift fields can be read from (the caller then decodes the whole record).
 */
export function compileRecordReader(writerSchema: unknown): RecordReader | undefined {
  let resolver: avsc.Resolver;
  let r = reader();
  try {
    const writer = avsc.Type.forSchema(writerSchema as avsc.Schema);
    const name = (writer as unknown as { name?: string }).name;
    // Names match unqualified (Avro specification): a ScoringLogRecord of another namespace is read too.
    if (unqualified(name) !== unqualified(SCORING_LOG_RECORD)) return undefined;
    if (name !== SCORING_LOG_RECORD) r = avsc.Type.forSchema(aliasWriterNamespaces(readerSchema!, namedTypesOf(writer)) as avsc.Schema);
    resolver = r.createResolver(writer);
  } catch {
    return undefined;
  }
  return (body: Buffer) => {
    let v: { application_id: string; submitted_at: number; features: Record<string, number>; probability_of_default: number; decision: string };
    try {
      v = r.fromBuffer(body, resolver) as typeof v;
    } catch (e) {
      throw new MalformedRecord((e as Error).message);
    }
    return { applicationId: v.application_id, eventAt: v.submitted_at, features: v.features, score: v.probability_of_default, decision: v.decision };
  };
}
