import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, loadSchema } from '../../shared/schemas.ts';
import { compileRecordReader, MalformedRecord } from './record-reader.ts';

const schema = loadSchema('scoring-log');
const type = avsc.Type.forSchema(schema as unknown as avsc.Schema);

function record(i: number): Record<string, unknown> {
  const features: Record<string, number> = {};
  FEATURE_NAMES.forEach((f, j) => {
    if ((i + j) % 11 !== 0) features[f] = j % 2 ? i * 1.37 + j : Math.floor(i / 3) - j;
  });
  if (i % 7 === 0) features[FEATURE_NAMES[0]!] = NaN;
  return {
    application_id: `appl-ü-${i}`,
    submitted_at: 1_700_000_000_000 + i * 977,
    scored_at: 1_700_000_000_100 + i,
    features,
    probability_of_default: i / 1000,
    predicted_class: i % 2,
    risk_category: ['LOW', 'MEDIUM', 'HIGH'][i % 3],
    decision: ['APPROVE', 'REVIEW', 'DECLINE'][i % 3],
    model_name: 'credit-default-classifier',
    model_version: String(i % 4),
    inference_latency_ms: 0.25 * i,
    batch_size: i,
    source_topic: 'loan-applications',
    source_partition: i % 6,
    source_offset: i * 1000,
    shadow_model_version: i % 2 ? null : 'v2',
    shadow_probability: i % 2 ? null : 0.5,
  };
}

const expected = (full: Record<string, unknown>) => ({ applicationId: full.application_id, eventAt: full.submitted_at, features: full.features, score: full.probability_of_default, decision: full.decision });

describe('scoring-log record reader', () => {
  it('reads the drift fields exactly as a full decode does', () => {
    const read = compileRecordReader(schema)!;
    for (let i = 0; i < 200; i++) {
      const buf = type.toBuffer(record(i));
      expect(read(buf)).toEqual(expected(type.fromBuffer(buf) as Record<string, unknown>));
    }
  });
  it('serves another writer schema of the record (fields reordered, extra fields)', () => {
    const writer = { ...schema, fields: [{ name: 'channel', type: ['null', 'string'], default: null }, ...[...schema.fields].reverse()] };
    const t = avsc.Type.forSchema(writer as unknown as avsc.Schema);
    const read = compileRecordReader(writer)!;
    for (let i = 0; i < 50; i++) {
      const buf = t.toBuffer({ ...record(i), channel: i % 2 ? 'web' : null });
      expect(read(buf)).toEqual(expected(t.fromBuffer(buf) as Record<string, unknown>));
    }
  });
  it('serves a copy of the record in another namespace (names match unqualified)', () => {
    const writer = { ...schema, namespace: 'com.upstream.generated' };
    const t = avsc.Type.forSchema(writer as unknown as avsc.Schema);
    const read = compileRecordReader(writer)!;
    expect(read).toBeDefined();
    const buf = t.toBuffer(record(5));
    expect(read(buf)).toEqual(expected(t.fromBuffer(buf) as Record<string, unknown>));
  });
  it('refuses schemas of other records or without the fields, and malformed bodies', () => {
    expect(compileRecordReader({ ...schema, name: 'LoanDecision' })).toBeUndefined();
    expect(compileRecordReader({ ...schema, fields: schema.fields.filter((f) => f.name !== 'features') })).toBeUndefined();
    const read = compileRecordReader(schema)!;
    const buf = type.toBuffer(record(3));
    expect(() => read(buf.subarray(0, buf.length - 4))).toThrow(MalformedRecord);
  });
});
